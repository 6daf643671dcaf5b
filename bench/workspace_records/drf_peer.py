"""GET/POST /bench/peers/records: the records list and create as a Django REST Framework
team would write them — a ModelViewSet with a ModelSerializer, Bearer authentication over
the same hashed API keys, CursorPagination on (created_at, id). Mounted only when
BENCHMARK_ENDPOINTS=true and DRF is installed (bench/workspace_records/urls.py; DRF comes
from bench/peers/requirements.txt, for the benchmark only)."""

from __future__ import annotations

import functools
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import authentication, exceptions, pagination, permissions, serializers
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.viewsets import ModelViewSet

from organizations.directory import hash_key, prefix_of
from organizations.models import ApiKey
from workspace_records.models import WorkspaceRecord


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode()
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw:
            return None
        prefix = prefix_of(raw)
        key = (
            ApiKey.objects.unscoped()
            .select_related("created_by")
            .filter(prefix=prefix, key_hash=hash_key(raw), revoked_at=None)
            .first()
        )
        if key is None or (key.expires_at is not None and key.expires_at <= timezone.now()):
            raise exceptions.AuthenticationFailed("Invalid API key.")
        return key.created_by, key

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


class RecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkspaceRecord
        fields = (
            "id",
            "title",
            "status",
            "body",
            "version",
            "created_by",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "version", "created_by", "created_at", "updated_at")


class Newest(pagination.CursorPagination):
    page_size = 50
    ordering = ("-created_at", "-id")


class RecordViewSet(ModelViewSet):
    serializer_class = RecordSerializer
    authentication_classes = (ApiKeyAuthentication,)
    permission_classes = (permissions.IsAuthenticated,)
    pagination_class = Newest
    renderer_classes = (JSONRenderer,)
    parser_classes = (JSONParser,)

    def get_queryset(self) -> QuerySet[WorkspaceRecord]:
        return WorkspaceRecord.objects.for_organization(self.request.auth.organization_id)

    def perform_create(self, serializer: Any) -> None:
        """With the plan's record limit, checked the conventional way: count, then save
        (in autocommit: two creates at once can both pass at the limit, which the
        project's lock and SERIALIZABLE transaction rule out)."""
        organization_id = self.request.auth.organization_id
        if WorkspaceRecord.objects.for_organization(organization_id).count() >= _pro_limit():
            raise exceptions.PermissionDenied("The plan's record limit is reached.")
        serializer.save(organization_id=organization_id, created_by=self.request.user)


@functools.cache
def _pro_limit() -> int:
    """The records limit of the plan the benchmark's creates run on (records.py
    `grant_pro`), from the project's limit declarations."""
    from kernel.limits import LIMITS
    from workspace_records.mutations import RECORDS

    allowed = LIMITS[RECORDS].allowed({"feature.pro"})
    assert allowed is not None
    return allowed

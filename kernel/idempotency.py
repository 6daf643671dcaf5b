"""Safe retries for the JSON API: the `Idempotency-Key` header.

The first unsafe call with a key (per organization) claims it, runs, and stores its
response. A repeat within 24 hours with the same method, path and body gets that stored
response without running again; a different call reusing the key is a `conflict`, and so
is a repeat while the first is still running. Server errors (5xx) are not stored, so the
call can be retried.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Final

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from kernel import errors
from kernel.errors import AppError
from kernel.guard import resolve_actor
from kernel.models import IdempotencyRecord
from kernel.rendering import api_error_response

HEADER: Final = "Idempotency-Key"
TTL: Final = timedelta(hours=24)
UNSAFE: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.path, request.body):
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(
        bytes(record.body), status=record.status_code, content_type=record.content_type or None
    )
    response["Idempotent-Replayed"] = "true"
    return response


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if not key or request.method not in UNSAFE or not request.path.startswith("/api/"):
            return self.get_response(request)
        try:
            actor = resolve_actor(request)  # API key, else session: as the API will
        except AppError:
            return self.get_response(request)  # the API answers 401/403 itself
        if len(key) > 200:
            return api_error_response(
                errors.invalid_input(fields={HEADER: ["Use at most 200 characters."]})
            )
        key = f"http:{key}"  # its own namespace: socket mutations use "ws:" keys
        fingerprint = _fingerprint(request)
        claimed, record = _claim(actor.organization_id, key, fingerprint)
        if not claimed:
            if record.request_hash != fingerprint:
                return api_error_response(
                    errors.conflict("This Idempotency-Key was used for a different request.")
                )
            if record.status_code is None:
                return api_error_response(
                    errors.conflict("A request with this Idempotency-Key is still in progress.")
                )
            return _replay(record)
        response = self.get_response(request)
        if response.status_code >= 500 or response.streaming:
            record.delete()
        else:
            record.status_code = response.status_code
            record.content_type = response.get("Content-Type", "")
            record.body = response.content
            record.save(update_fields=["status_code", "content_type", "body"])
        return response


def _claim(organization_id: int, key: str, fingerprint: str) -> tuple[bool, IdempotencyRecord]:
    """Insert the placeholder for (organization, key), or return the existing record."""
    records = IdempotencyRecord.objects.for_organization(organization_id)
    records.filter(key=key, created_at__lt=timezone.now() - TTL).delete()  # expired
    try:
        with transaction.atomic():
            return True, IdempotencyRecord.objects.create(
                organization_id=organization_id, key=key, request_hash=fingerprint
            )
    except IntegrityError:
        return False, records.get(key=key)

"""Every page knows the active organization and what the actor may do there."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from kernel.errors import AppError
from kernel.guard import has_app_permission, resolve_actor
from organizations.models import Organization


class Permissions:
    """`{% if can.member_invite %}`: dots in permission names become underscores."""

    def __init__(self, actor: Any) -> None:
        self._actor = actor

    def __getattr__(self, name: str) -> bool:
        from kernel.permissions import CATALOGUE

        for permission in CATALOGUE:
            if permission.replace(".", "_") == name:
                return self._actor is not None and has_app_permission(self._actor, permission)
        raise AttributeError(name)


def active_organization(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    try:
        actor = resolve_actor(request)
    except AppError:
        return {"can": Permissions(None)}
    return {
        "actor": actor,
        "active_organization": Organization.objects.filter(pk=actor.organization_id).first(),
        "can": Permissions(actor),
    }

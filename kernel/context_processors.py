"""What every page knows: the actor, what it may do (`can`), and the header's links."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from kernel import actors
from kernel.actor import Actor
from kernel.errors import AppError
from kernel.guard import has_app_permission
from kernel.manifest import navigation
from kernel.models import Notification
from kernel.permissions import CATALOGUE


class Permissions:
    """`{% if can.member_invite %}`: dots in permission names become underscores.
    Role, key scopes and plan capability only: policies are checked when the action runs."""

    def __init__(self, actor: Actor | None) -> None:
        self._actor = actor
        self._names = {name.replace(".", "_"): name for name in CATALOGUE}

    def __getattr__(self, name: str) -> bool:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return has_app_permission(self._actor, self._names[name])
        except KeyError:
            raise AttributeError(name) from None


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    current: bool


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"can": Permissions(None), "nav": []}
    try:
        actor: Actor | None = actors.resolve(request)
    except AppError:
        actor = None
    links = []
    if actor is not None:
        for entry in navigation():
            if entry.permission is None or has_app_permission(actor, entry.permission):
                url = reverse(entry.url_name)
                links.append(NavLink(entry.label, url, request.path.startswith(url)))
    return {
        "actor": actor,
        "can": Permissions(actor),
        "nav": links,
        # The bell's first value, counted only where a page shows it (templates call it);
        # the live query `notifications.unread` keeps it current.
        "unread_notifications": lambda: unread_count(user.pk),
    }


def unread_count(user_id: int) -> int:
    return Notification.objects.filter(user_id=user_id, read_at__isnull=True).count()

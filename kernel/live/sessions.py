"""Signing out closes the session's sockets, in every process (through the channel layer)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.http import HttpRequest


def _group_for(session_key: str) -> str:
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:32]


def session_group(scope: Mapping[str, Any]) -> str | None:
    session = scope.get("session")
    key = getattr(session, "session_key", None)
    return _group_for(key) if key else None


def end_session_sockets(session_key: str | None) -> None:
    layer = get_channel_layer()
    if session_key and layer is not None:
        async_to_sync(layer.group_send)(_group_for(session_key), {"type": "session.ended"})


@receiver(user_logged_out)
def close_sockets_of_signed_out_session(
    sender: Any, request: HttpRequest | None, **kwargs: Any
) -> None:
    end_session_sockets(getattr(getattr(request, "session", None), "session_key", None))


@receiver(post_delete, sender="usersessions.UserSession")
def close_sockets_of_ended_session(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A session ended from the sessions page ("sign out other sessions")."""
    end_session_sockets(instance.session_key)

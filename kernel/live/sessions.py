"""Signing out closes the session's sockets, in every process (through the channel layer)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest


def _group_for(session_key: str) -> str:
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:32]


def session_group(scope: Mapping[str, Any]) -> str | None:
    session = scope.get("session")
    key = getattr(session, "session_key", None)
    return _group_for(key) if key else None


@receiver(user_logged_out)
def close_sockets_of_ended_session(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    key = getattr(getattr(request, "session", None), "session_key", None)
    layer = get_channel_layer()
    if key and layer is not None:
        async_to_sync(layer.group_send)(_group_for(key), {"type": "session.ended"})

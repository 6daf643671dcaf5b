"""Which WebSocket handshakes to accept.

Browsers always send `Origin`, and send the site's cookies with a handshake from any page
of the same *site*, which includes other ports and schemes of the same host. So an Origin
must equal, in scheme, host and port, either the socket's own origin (the scheme the
client used and its Host header, as Django's CSRF check compares them) or one of
CSRF_TRUSTED_ORIGINS; anything else is another page trying to use the visitor's
cookies, and is refused. Programs (the Python client, CI) send no Origin and
authenticate with an API key: allowed, since they carry no ambient credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings


def _header(scope: Mapping[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _secure(scope: Mapping[str, Any]) -> bool:
    """As `HttpRequest.is_secure()`: the proxy's header when SECURE_PROXY_SSL_HEADER says
    to trust it, else the scheme the client connected with."""
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        header, secure_value = proxy
        name = header.removeprefix("HTTP_").replace("_", "-").lower().encode()
        value = _header(scope, name)
        if value is not None:
            return bool(value.split(",")[0].strip() == secure_value)
    return scope.get("scheme") == "wss"


def _normalized(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) with the scheme's default port filled in; None if malformed."""
    try:
        parts = urlsplit(origin.strip().lower())
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or port is None:
        return None
    return parts.scheme, parts.hostname, port


def _matches(origin: tuple[str, str, int], allowed: tuple[str, str, int]) -> bool:
    scheme, host, port = allowed
    if host.startswith("*."):  # CSRF_TRUSTED_ORIGINS may name every subdomain
        return origin[0] == scheme and origin[2] == port and origin[1].endswith(host[1:])
    return origin == allowed


def allowed_origins(scope: Mapping[str, Any]) -> list[tuple[str, str, int]]:
    candidates = list(settings.CSRF_TRUSTED_ORIGINS)
    host = _header(scope, b"host")
    if host:
        candidates.append(f"{'https' if _secure(scope) else 'http'}://{host}")
    return [found for found in map(_normalized, candidates) if found is not None]


def origin_allowed(scope: Mapping[str, Any]) -> bool:
    origin = _header(scope, b"origin")
    if origin is None:
        return True
    found = _normalized(origin)
    return found is not None and any(_matches(found, ok) for ok in allowed_origins(scope))


class BrowserOriginValidator:
    """ASGI middleware: a WebSocket handshake with a foreign Origin is denied (403)."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.application(scope, receive, send)

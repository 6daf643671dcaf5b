"""Which WebSocket handshakes to accept.

Browsers always send `Origin`, so a foreign one means another site is trying to use the
visitor's cookies: refused. Programs (the Python client, CI) send none and authenticate
with an API key: allowed, since there are no ambient credentials to abuse.
"""

from __future__ import annotations

from typing import Any

from channels.security.websocket import OriginValidator
from django.conf import settings


class BrowserOriginValidator(OriginValidator):  # type: ignore[misc]  # channels is untyped
    def __init__(self, application: Any) -> None:
        super().__init__(application, settings.ALLOWED_HOSTS)

    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True
        return bool(self.validate_origin(parsed_origin))

"""Which language a person reads: their profile's choice, else what their browser asks
for (`Accept-Language`, or the switcher's cookie), else settings.LANGUAGE_CODE.

Pages get it from the middleware. What is made without a request uses these: an email
in its recipient's language (`recipient_language(user)`), a socket's error frames and
live values in the language of the person who opened it (`scope_language(scope)`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation

logger = logging.getLogger(__name__)


def supported(code: str | None) -> str | None:
    """`code` as one of settings.LANGUAGES ("de-AT" → "de"), or None."""
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return None


def recipient_language(user: object | None) -> str:
    """The language of someone not in front of us (an email's recipient): their
    profile's choice, else the default. Never the language of whoever caused the email."""
    chosen = getattr(user, "language", "") if user is not None else ""
    return supported(chosen) or settings.LANGUAGE_CODE


def scope_language(scope: Mapping[str, Any]) -> str:
    """The language of an ASGI connection (the socket): the signed-in person's profile,
    else the switcher's cookie or `Accept-Language`, as LocaleMiddleware picks for pages.
    Reads the user: call it where the database may be used (database_sync_to_async)."""
    try:
        user = scope.get("user")
        chosen = (
            supported(getattr(user, "language", ""))
            if user is not None and user.is_authenticated
            else None
        )
    except Exception:  # the database is away: the socket opens all the same
        logger.warning("live queries: could not read a person's language", exc_info=True)
        chosen = None
    if chosen:
        return chosen
    request = HttpRequest()
    for name, value in scope.get("headers", ()):
        if name == b"accept-language":
            request.META["HTTP_ACCEPT_LANGUAGE"] = value.decode("latin-1")
    request.COOKIES = dict(scope.get("cookies") or {})
    return translation.get_language_from_request(request)

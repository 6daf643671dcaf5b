"""Each request: an id, one log line and its metrics.

Outermost, so it times everything and sees the status the client gets. The request id
is the caller's `X-Request-ID` when it is a sane token (a proxy or a client correlating
its own logs), else a new one; it is echoed in the response's `X-Request-ID` and is on
every line logged while the request runs, with the user and organization once the view
has resolved them (kernel/logcontext.py).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Final

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from config.metrics import observe_request
from kernel.actors import resolved_actor
from kernel.logcontext import log_context

logger = logging.getLogger("request")

REQUEST_ID_HEADER: Final = "X-Request-ID"
SANE_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._:@+=/-]{8,128}")
"""Long enough to be unique, short enough for a log line, and nothing that could forge
one (no spaces, quotes or line breaks)."""


def request_id_for(request: HttpRequest) -> str:
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    return offered if SANE_REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex


def user_id_of(request: HttpRequest) -> int | None:
    actor = resolved_actor(request)
    if actor is not None:
        return actor.user_id if actor.user_id is not None else actor.key_creator_id
    # Only a user the request has already loaded (Django caches it there): asking
    # `request.user` here would read the session for a line's sake.
    user = request.__dict__.get("_cached_user")
    return user.pk if user is not None and user.is_authenticated else None


def organization_id_of(request: HttpRequest) -> int | None:
    actor = resolved_actor(request)
    return actor.organization_id if actor is not None else None


def api_key_id_of(request: HttpRequest) -> int | None:
    actor = resolved_actor(request)
    return actor.api_key_id if actor is not None else None


def route_of(request: HttpRequest) -> str:
    """The URL pattern's name: a bounded label, unlike the path."""
    match = request.resolver_match
    if match is not None:
        return match.view_name or match.route or "unnamed"
    if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return "static"
    return "unmatched"


class RequestMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = request_id_for(request)
        with log_context(
            request_id=request_id,
            user_id=lambda: user_id_of(request),
            organization_id=lambda: organization_id_of(request),
            api_key_id=lambda: api_key_id_of(request),
        ):
            response = self.get_response(request)
            seconds = time.perf_counter() - started
            response[REQUEST_ID_HEADER] = request_id
            method, status, route = request.method or "", response.status_code, route_of(request)
            observe_request(method, route, status, seconds)
            milliseconds = round(seconds * 1000, 1)
            logger.log(
                logging.WARNING if status >= 500 else logging.INFO,
                "%s %s %s %.1f ms",
                method,
                request.path,
                status,
                milliseconds,
                extra={
                    "method": method,
                    "path": request.path,
                    "route": route,
                    "status": status,
                    "duration_ms": milliseconds,
                },
            )
        return response

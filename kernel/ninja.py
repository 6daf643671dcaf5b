"""The JSON API's glue to the kernel: authentication to an Actor and one error envelope."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.security import APIKeyCookie

from kernel import errors
from kernel.actor import Actor
from kernel.errors import AppError
from kernel.guard import resolve_actor
from kernel.rendering import api_error_response, as_app_error


class SessionActorAuth(APIKeyCookie):
    """The browser session (CSRF-checked for unsafe methods) → the Actor, as request.auth."""

    param_name: str = settings.SESSION_COOKIE_NAME

    def authenticate(self, request: HttpRequest, key: str | None) -> Actor | None:
        if not request.user.is_authenticated:
            return None
        return resolve_actor(request)


class SessionUserAuth(APIKeyCookie):
    """The browser session's user, for calls made outside any organization (listing or
    creating organizations, answering an invitation). CSRF-checked like SessionActorAuth."""

    param_name: str = settings.SESSION_COOKIE_NAME

    def authenticate(self, request: HttpRequest, key: str | None) -> object | None:
        return request.user if request.user.is_authenticated else None


def request_actor(request: HttpRequest) -> Actor:
    """The Actor that authenticated this API request."""
    actor = getattr(request, "auth", None)
    if not isinstance(actor, Actor):
        raise errors.unauthenticated()
    return actor


def _validation_fields(error: ValidationError) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for item in error.errors:
        location = [str(part) for part in item.get("loc", ())]
        # ("body", "payload", "title") → "title"; ("query", "status") → "status"
        path = location[2:] if location[:1] == ["body"] and len(location) > 2 else location[1:]
        fields.setdefault(".".join(path) or "__all__", []).append(str(item.get("msg", "")))
    return fields


def _from_http_error(error: HttpError) -> AppError:
    if isinstance(error, Throttled):
        return errors.rate_limited(int(error.wait or 1))
    if isinstance(error, AuthenticationError) or error.status_code == 401:
        return errors.unauthenticated()
    if error.status_code == 403:
        return errors.forbidden(str(error) or "Forbidden.")
    if error.status_code == 404:
        return errors.not_found()
    if error.status_code == 409:
        return errors.conflict(str(error))
    if 400 <= error.status_code < 500:
        return errors.invalid_input(str(error))
    return errors.server_error()


def _handle(request: HttpRequest, error: Exception, api: NinjaAPI) -> HttpResponse:
    if isinstance(error, ValidationError):
        app_error = errors.invalid_input(fields=_validation_fields(error))
    elif isinstance(error, HttpError):
        app_error = _from_http_error(error)
    elif isinstance(error, Http404):
        app_error = errors.not_found()
    else:
        app_error = as_app_error(error)
    return api_error_response(app_error)


def install_error_handlers(api: NinjaAPI) -> None:
    """Every failure under the API answers {"error": {"code", "message", "fields"}}."""
    for exception_class in (Exception, AppError, HttpError, Http404, ValidationError):
        api.add_exception_handler(exception_class, partial(_handle, api=api))


ERROR_DESCRIPTIONS = {
    401: "`unauthenticated`",
    402: "`plan_limit`",
    403: "`forbidden` or `step_up_required`",
    404: "`not_found` (also for other organizations' objects)",
    409: "`conflict`",
    422: "`invalid_input` with `fields`",
    429: "`rate_limited`, with `Retry-After`",
}


def error_responses(*statuses: int) -> dict[str, Any]:
    """`openapi_extra` documenting an endpoint's error answers, all in the one envelope."""
    return {
        "responses": {
            str(status): {
                "description": ERROR_DESCRIPTIONS[status],
                "content": {"application/json": {"schema": ERROR_RESPONSE_SCHEMA}},
            }
            for status in statuses
        }
    }


ERROR_RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string", "enum": [code.value for code in errors.ErrorCode]},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
        }
    },
}

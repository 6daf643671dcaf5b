"""The JSON API's side of the door: each operation is built from a registered function.

    route(router, "GET /records", record_list)
    route(router, "POST /records", record_create, status=201, errors=(402,))
    route(router, "PATCH /records/{int:record_id}", record_update, version_header="version")

`route` derives the operation from the function: path parameters, then query parameters
(GET) or a JSON body (the other methods) from its input model, so the OpenAPI schema is
the model's; `Idempotency-Key` on mutations; `If-Match` for versioned edits; the error
answers it can give, in the one envelope. The view it builds only gathers the raw input
and calls the door: validation, permission, step-up and idempotency happen there.

Authentication: `Authorization: Bearer <api key>`, or the browser session (CSRF is
checked for unsafe methods, and only when a session cookie is sent: an anonymous call is
`unauthenticated`, not a CSRF failure).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, Final, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import NinjaAPI, Router
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.params import functions as params
from ninja.security import APIKeyCookie, HttpBearer
from ninja.signature.utils import get_path_param_names
from ninja.utils import check_csrf
from pydantic import create_model

from kernel import actors, door, errors, idempotency
from kernel.errors import AppError
from kernel.functions import Function, Kind
from kernel.inputs import Input, error_message
from kernel.middleware import is_json
from kernel.rendering import api_error_response, as_app_error

JSON: Final = "application/json"
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
SESSION_ONLY: Final = gettext_lazy(
    "This endpoint needs a signed-in session; API keys cannot call it."
)


# --- authentication ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Operation:
    function: Function
    organization_param: str | None = None
    takes_body: bool = False


def _authorized(request: HttpRequest, operation: _Operation | None) -> object:
    """The caller, allowed to call the operation's function: checked here, before Ninja
    reads the body, so a caller who may not call it gets 401/403 whatever it sent (as on
    every transport); then the body must be JSON text."""
    if operation is None:
        return actors.resolve(request)
    match = request.resolver_match
    param = operation.organization_param
    organization = match.kwargs.get(param) if match and param else None
    principal = door.principal_for(operation.function, request, organization)
    door.admit(operation.function, principal)
    if operation.takes_body:
        _require_json_body(request)
    return principal


def _require_json_body(request: HttpRequest) -> None:
    if not request.body:
        return  # Ninja says the arguments are missing
    if not is_json(request.content_type or ""):
        raise errors.unsupported_media_type()
    try:
        request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.invalid_input(_("The request body is not valid UTF-8.")) from None


class SessionAuth(APIKeyCookie):
    """The browser session. Unsafe methods need the CSRF token, but only from a caller
    that sent a session cookie: without one the call is simply `unauthenticated`."""

    param_name: str = settings.SESSION_COOKIE_NAME

    def __init__(self, operation: _Operation | None = None) -> None:
        super().__init__(csrf=False)
        self.operation = operation

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> object | None:
        personal = self.operation is not None and self.operation.function.personal
        if personal and actors.bearer_token(request.headers.get("Authorization", "")):
            raise errors.forbidden(SESSION_ONLY)
        if not key or not request.user.is_authenticated:
            return None
        unsafe = request.method not in ("GET", "HEAD", "OPTIONS", "TRACE")
        if unsafe and check_csrf(request) is not None:
            raise errors.forbidden(
                _("CSRF check failed: send the csrftoken cookie's value in X-CSRFToken.")
            )
        return _authorized(request, self.operation)


class BearerAuth(HttpBearer):
    """`Authorization: Bearer sk_…`: no cookie, so no CSRF."""

    def __init__(self, operation: _Operation | None = None) -> None:
        super().__init__()
        self.operation = operation

    def authenticate(self, request: HttpRequest, token: str) -> object:
        return _authorized(request, self.operation)


def default_auth() -> list[Any]:
    return [BearerAuth(), SessionAuth()]


# --- operations -------------------------------------------------------------------------------


def route(
    router: Router,
    spec: str,
    function: Function,
    *,
    status: int = 200,
    summary: str | None = None,
    organization_param: str | None = None,
    version_header: str | None = None,
    errors: Iterable[int] = (),
    tags: Sequence[str] | None = None,
) -> None:
    """Expose a public function as `METHOD /path` on `router`.

    `organization_param`: a path parameter naming the organization to act in (else the
    session's active one, or the API key's). `version_header`: the input field that
    `If-Match` fills for versioned edits. `errors`: statuses beyond those the function's
    shape implies (402 when a plan limit applies)."""
    if function.internal:
        raise ValueError(f"{function.name} is internal: it cannot be routed")
    method, path = spec.split(" ", 1)
    fields = function.input.model_fields
    in_path = [name for name in get_path_param_names(path) if name != organization_param]
    rest = [name for name in fields if name not in in_path]
    parameters = [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for name in get_path_param_names(path):
        annotation = int if name == organization_param else fields[name].annotation
        parameters.append(_keyword(name, Annotated[annotation, params.Path(...)]))
    body = query = None
    if rest and method == "GET":
        query = _subset(function.input, rest, "Query")
        parameters.append(_keyword("filters", Annotated[query, params.Query(...)]))
    elif rest:
        body = _subset(function.input, rest, "Body", optional={version_header})
        parameters.append(_keyword("payload", Annotated[body, params.Body(...)]))
    if function.kind is Kind.MUTATION:
        header = params.Header(
            None,
            alias=IDEMPOTENCY_HEADER,
            description=_IDEMPOTENCY_HELP,
            min_length=1,
            max_length=idempotency.MAX_KEY_LENGTH,
        )
        parameters.append(_keyword("idempotency_key", Annotated[str | None, header], None))
    if version_header:
        header = params.Header(None, alias="If-Match", description=_IF_MATCH_HELP)
        parameters.append(_keyword("if_match", Annotated[str | None, header], None))

    def view(request: HttpRequest, **values: Any) -> HttpResponse:
        raw: dict[str, Any] = {name: values[name] for name in in_path}
        if query is not None:
            raw.update(_query_items(request, function.input))
        if body is not None:
            raw.update(values["payload"].model_dump(exclude_unset=True))
        if version_header and values.get("if_match"):
            raw[version_header] = _etag_version(values["if_match"], version_header)
        outcome = door.run(
            function,
            request,
            raw,
            organization_id=values.get(organization_param) if organization_param else None,
            idempotency_key=values.get("idempotency_key"),
        )
        response = HttpResponse(
            function.dump_json(outcome.value) if status != 204 else b"",
            status=status,
            content_type=JSON if status != 204 else None,
        )
        if outcome.replayed:
            response["Idempotent-Replayed"] = "true"
        version = getattr(outcome.value, "version", None)
        if isinstance(version, int):
            response["ETag"] = f'"{version}"'
        return response

    operation = _Operation(function, organization_param, takes_body=body is not None)
    view.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    view.__name__ = function.name.replace(".", "_")
    view.__doc__ = inspect.getdoc(function.body)
    view.kernel_function = function  # type: ignore[attr-defined]  # kernel/checks.py reads it
    router.add_api_operation(
        path,
        [method],
        view,
        auth=[SessionAuth(operation)]
        if function.personal
        else [BearerAuth(operation), SessionAuth(operation)],
        response={status: None if status == 204 else function.output_type},
        summary=summary,
        operation_id=function.name.replace(".", "_"),
        tags=list(tags) if tags else None,
        openapi_extra=error_responses(*_statuses(function, path, errors)),
    )


_IDEMPOTENCY_HELP: Final = (
    "Repeat the same call with the same key within 24 hours to get the first result "
    "instead of running it again (per caller and operation)."
)
_IF_MATCH_HELP: Final = 'The version you edited, as the ETag a GET returned (e.g. "3").'


def _keyword(
    name: str, annotation: Any, default: Any = inspect.Parameter.empty
) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )


def _subset(
    model: type[Input], names: Sequence[str], suffix: str, optional: Iterable[str | None] = ()
) -> type[Input]:
    """The input model's fields `names` as a model of their own (same types, same rules),
    for Ninja to document and parse; the door validates the whole input again."""
    loosened = {name for name in optional if name}
    definitions: dict[str, Any] = {}
    for name in names:
        field = model.model_fields[name]
        if name in loosened:
            definitions[name] = (cast(Any, field.annotation) | None, None)
        else:
            definitions[name] = (field.annotation, field)
    subset: type[Input] = create_model(
        f"{model.__name__}{suffix}", __base__=Input, __doc__=model.__doc__, **definitions
    )
    return subset


def _query_items(request: HttpRequest, model: type[Input]) -> dict[str, Any]:
    """Every query parameter, so an unknown one is refused here as on the socket."""
    raw: dict[str, Any] = {}
    for key in request.GET:
        field = model.model_fields.get(key)
        is_list = field is not None and getattr(field.annotation, "__origin__", None) is list
        raw[key] = request.GET.getlist(key) if is_list else request.GET[key]
    return raw


def _etag_version(value: str, field: str) -> int:
    text = value.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise errors.invalid_input(fields={field: [_('Send If-Match: "<version>", e.g. "3".')]})
    return int(text)


def _statuses(function: Function, path: str, extra: Iterable[int]) -> list[int]:
    found = {401, 403, 429, 503, *extra}
    if get_path_param_names(path):
        found.add(404)
    if function.input.model_fields or function.kind is Kind.MUTATION:
        found.add(422)  # a mutation's Idempotency-Key may be invalid too
    if function.kind is Kind.MUTATION:
        found.add(409)
    return sorted(found)


# --- errors -----------------------------------------------------------------------------------


def _validation_fields(error: ValidationError) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for item in error.errors:
        location = [str(part) for part in item.get("loc", ())]
        source, rest = (location[0], location[1:]) if location else ("", [])
        if source == "body":
            rest = rest[1:]  # the parameter's own name ("payload")
            if not rest and item.get("type") == "missing":
                fields.setdefault("__all__", []).append(_("Send the arguments as a JSON object."))
                continue
        name = ".".join(rest) or "__all__"
        name = {"idempotency_key": IDEMPOTENCY_HEADER, "if_match": "If-Match"}.get(name, name)
        message = error_message(item)
        if message not in fields.setdefault(name, []):
            fields[name].append(message)
    return fields


def _from_http_error(error: HttpError) -> AppError:
    if isinstance(error, Throttled):
        return errors.rate_limited(int(error.wait or 1))
    if isinstance(error, AuthenticationError) or error.status_code == 401:
        return errors.unauthenticated()
    if error.status_code == 403:
        return errors.forbidden(str(error) or _("Forbidden."))
    if error.status_code == 404:
        return errors.not_found()
    if error.status_code == 400 and str(error).startswith("Cannot parse request body"):
        return errors.invalid_input(_("The request body is not valid JSON."))
    if 400 <= error.status_code < 500:
        return errors.invalid_input(str(error))
    return errors.server_error()


def _handle(request: HttpRequest, error: Exception, api: NinjaAPI) -> HttpResponse:
    if isinstance(error, ValidationError):
        app_error = errors.invalid_input(fields=_validation_fields(error))
    elif isinstance(error, HttpError):
        app_error = _from_http_error(error)
    else:
        app_error = as_app_error(error)
    return api_error_response(app_error)


def install_error_handlers(api: NinjaAPI) -> None:
    """Every failure under the API answers {"error": {"code", "message", "fields"}}."""
    for exception_class in (Exception, AppError, HttpError, ValidationError):
        api.add_exception_handler(exception_class, partial(_handle, api=api))


ERROR_DESCRIPTIONS: Final[Mapping[int, str]] = {
    401: "`unauthenticated`",
    402: "`plan_limit`",
    403: "`forbidden` or `step_up_required`",
    404: "`not_found` (also for other organizations' objects)",
    409: "`conflict` (also a stale `If-Match`, or an `Idempotency-Key` reused)",
    413: "`payload_too_large`",
    415: "`unsupported_media_type`",
    422: "`invalid_input` with `fields`",
    429: "`rate_limited`, with `Retry-After`",
    503: "`unavailable`, with `Retry-After`",
}


def error_responses(*statuses: int) -> dict[str, Any]:
    """`openapi_extra` documenting an operation's error answers, all in the one envelope."""
    return {
        "responses": {
            str(status): {
                "description": ERROR_DESCRIPTIONS[status],
                "content": {JSON: {"schema": ERROR_RESPONSE_SCHEMA}},
            }
            for status in statuses
        }
    }


ERROR_RESPONSE_SCHEMA: Final[dict[str, Any]] = {
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


def operations(api: NinjaAPI) -> list[tuple[str, str, Callable[..., Any]]]:
    """(method, path, view) of every operation, for kernel/checks.py and tests."""
    found = []
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                for method in operation.methods:
                    found.append((method, f"{prefix}{path}", operation.view_func))
    return found

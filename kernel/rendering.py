"""The one mapping from errors to what each transport sends.

    API      HTTP status + {"error": {"code", "message", "fields"}}   (+ Retry-After)
    pages    the error page with the same status; `unauthenticated` redirects to sign-in
    socket   {"type": "error", "id", "code", "message", "fields"}

`render_page` renders a page, or one of its partials for a live table (`X-Partial`).

`as_app_error` first turns the framework's own exceptions (404, PermissionDenied,
Django ValidationError, ...) into AppErrors, so they render the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import psycopg
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.template.base import Node, Template
from django.template.defaulttags import PartialDefNode
from django.template.loader import get_template, render_to_string
from django.template.loader_tags import BlockNode, ExtendsNode
from django.template.response import TemplateResponse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from psycopg_pool import PoolTimeout

from kernel import errors
from kernel.errors import AppError, ErrorCode
from kernel.sources import sources

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

logger = logging.getLogger(__name__)


def as_app_error(error: BaseException) -> AppError:
    """The AppError a transport should report for any exception."""
    if isinstance(error, AppError):
        return error
    if is_unavailable(error):
        logger.warning("Database unavailable: %s", error)
        return errors.unavailable()
    if isinstance(error, RequestDataTooBig):
        return errors.payload_too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)
    if isinstance(error, Http404):
        return errors.not_found()
    if isinstance(error, PermissionDenied):
        return errors.forbidden()
    if isinstance(error, ValidationError):
        if hasattr(error, "error_dict"):
            return errors.invalid_input(fields=error.message_dict)
        return errors.invalid_input(" ".join(error.messages))
    logger.error("Unhandled error", exc_info=error)
    return errors.server_error()


# SQLSTATE classes of a lost or refused connection: 08 connection exception, 57P01-57P03
# admin/crash shutdown and "cannot connect now" (starting up, in recovery).
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")


def is_unavailable(error: BaseException) -> bool:
    """The database, not the request, failed: unreachable, restarting, or the pool of
    connections exhausted (psycopg_pool's PoolTimeout). Retrying later may succeed."""
    if not isinstance(error, OperationalError | InterfaceError):
        return False
    cause = error.__cause__ or error
    if isinstance(cause, PoolTimeout | psycopg.InterfaceError):
        return True
    if isinstance(cause, psycopg.OperationalError):
        sqlstate = getattr(cause, "sqlstate", None)
        return sqlstate is None or sqlstate.startswith(_UNAVAILABLE_SQLSTATES)
    return isinstance(error, InterfaceError)


def error_body(error: AppError) -> dict[str, Any]:
    return {"error": error.as_dict()}


def api_error_response(error: AppError) -> JsonResponse:
    response = JsonResponse(error_body(error), status=error.status)
    if error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    return response


PAGE_HEADINGS: Final[Mapping[ErrorCode, StrOrPromise]] = MappingProxyType(
    {
        ErrorCode.NOT_FOUND: gettext_lazy("Not found"),
        ErrorCode.FORBIDDEN: gettext_lazy("Not allowed"),
        ErrorCode.INVALID_INPUT: gettext_lazy("Please check what you sent"),
        ErrorCode.CONFLICT: gettext_lazy("This changed in the meantime"),
        ErrorCode.STEP_UP_REQUIRED: gettext_lazy("Confirm it is you"),
        ErrorCode.PLAN_LIMIT: gettext_lazy("Your plan's limit is reached"),
        ErrorCode.RATE_LIMITED: gettext_lazy("Too many attempts"),
        ErrorCode.METHOD_NOT_ALLOWED: gettext_lazy("This page does not take that request"),
        ErrorCode.PAYLOAD_TOO_LARGE: gettext_lazy("Too large"),
        ErrorCode.UNSUPPORTED_MEDIA_TYPE: gettext_lazy("Not a format we take"),
        ErrorCode.SUSPENDED: gettext_lazy("Organization suspended"),
        ErrorCode.PENDING_DELETION: gettext_lazy("Organization scheduled for deletion"),
        ErrorCode.TWO_FACTOR_REQUIRED: gettext_lazy("Set up two-factor authentication"),
    }
)
"""The error page's heading; its message says what happened and what to do."""


ErrorPage = Callable[[HttpRequest, AppError], HttpResponse | None]
_ERROR_PAGES: Final[dict[ErrorCode, list[ErrorPage]]] = {}


def error_page(code: ErrorCode) -> Callable[[ErrorPage], ErrorPage]:
    """Register an app's own page for one refusal, for the viewers it chooses (it returns
    None for the others, who get the generic page): `pending_deletion` for the
    organization's owners is its restore page (organizations/deletion.py)."""

    def register(page: ErrorPage) -> ErrorPage:
        _ERROR_PAGES.setdefault(code, []).append(page)
        return page

    return register


def page_error_response(request: HttpRequest, error: AppError) -> HttpResponse:
    for variant in _ERROR_PAGES.get(error.code, ()):
        own = variant(request, error)
        if own is not None:
            return own
    if error.code == ErrorCode.UNAUTHENTICATED:
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
    if error.code in (ErrorCode.UNAVAILABLE, ErrorCode.SERVER_ERROR):
        # Rendered without the request: its context processors need what just failed.
        page = render_to_string("errors/unavailable.html", {"error": error})
        response = HttpResponse(page, status=error.status)
        if error.retry_after is not None:
            response["Retry-After"] = str(error.retry_after)
        return response
    context = {
        "error": error,
        "heading": PAGE_HEADINGS.get(error.code) or _("Something went wrong"),
        "back_url": _back_url(request),
    }
    template = "errors/app_error.html"
    if error.code in UNAVAILABLE_ORGANIZATION_PAGES:
        template = "errors/suspended.html"
        context.update(_organizations_elsewhere(request))
    response = TemplateResponse(request, template, context, status=error.status)
    if error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    return response.render()


UNAVAILABLE_ORGANIZATION_PAGES: Final = frozenset({ErrorCode.SUSPENDED, ErrorCode.PENDING_DELETION})
"""The organization the person acts in cannot be used: a page that says why, whom to
contact, and offers their other organizations and signing out (whatever page they asked
for: admission refuses every one). Owners of an organization pending deletion get the
deletion feature's own page (a restore button) instead."""


def _organizations_elsewhere(request: HttpRequest) -> dict[str, Any]:
    """Which of the person's organizations they cannot act in now (their ids, by status),
    for the page's list of the others to switch to (`my_organizations`, from the header's
    context processor). One query for the memberships, one for the organizations."""
    user = getattr(request, "user", None)
    unavailable: dict[str, set[int]] = {"suspended": set(), "pending_deletion": set()}
    if user is not None and user.is_authenticated:
        directory = sources().require_directory()
        mine = directory.memberships([user.pk]).get(user.pk, ())
        states = directory.organizations([m.organization_id for m in mine])
        for organization_id, state in states.items():
            if state.status.value in unavailable:
                unavailable[state.status.value].add(organization_id)
    return {
        "support_email": settings.SUPPORT_EMAIL,
        "suspended_ids": unavailable["suspended"],
        "pending_deletion_ids": unavailable["pending_deletion"],
    }


def _back_url(request: HttpRequest) -> str | None:
    """Where the person came from, for the error page's "Back" (works without JavaScript);
    only an address on this site, and never the page that failed."""
    referer = request.headers.get("referer", "")
    same_site = url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return referer if same_site and referer != request.build_absolute_uri() else None


def socket_error_frame(error: AppError, frame_id: str | int | None) -> dict[str, Any]:
    return {"type": "error", "id": frame_id, **error.as_dict()}


def wants_json(request: HttpRequest) -> bool:
    """API paths always answer JSON, whatever failed."""
    return request.path.startswith("/api/")


# --- pages and their partials -----------------------------------------------------------------

PARTIAL_HEADER: Final = "X-Partial"
"""A GET with `X-Partial: rows` gets the page's `{% partialdef rows %}` only (live tables)."""


def render_page(
    request: HttpRequest, template_name: str, context: Mapping[str, Any], status: int = 200
) -> HttpResponse:
    """The page, or for a GET naming one of its partials in `X-Partial`, that partial,
    rendered from the same context: the view ran (and refused) exactly as for the page.

    A name the page does not offer is a 400, and so is a partial inside a condition, a
    loop or a `{% with %}` of its template: rendered alone it could show what the page,
    rendered whole, would not."""
    name = request.headers.get(PARTIAL_HEADER)
    if name is None or request.method not in ("GET", "HEAD"):
        response = render(request, template_name, context, status=status)
    elif name not in offered_partials(template_name):
        response = HttpResponseBadRequest(
            f"This page has no partial named {name[:40]!r}.", content_type="text/plain"
        )
    else:
        response = render(request, f"{template_name}#{name}", context, status=status)
    patch_vary_headers(response, [PARTIAL_HEADER])
    return response


def offered_partials(template_name: str) -> frozenset[str]:
    """The partials the page always renders where it defines them: those reached from the
    template's top through `{% extends %}` and `{% block %}` only."""
    found: set[str] = set()
    # The Django backend's wrapper holds the parsed template (the stubs do not say so).
    page: Template = get_template(template_name).template  # type: ignore[attr-defined]
    pending: list[Node] = list(page.nodelist)
    while pending:
        node = pending.pop()
        if isinstance(node, PartialDefNode):
            found.add(node.partial_name)
        if isinstance(node, PartialDefNode | ExtendsNode | BlockNode):
            pending.extend(node.nodelist)
    return frozenset(found)

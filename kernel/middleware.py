"""The one error handler for pages and the API.

API (`/api/`): every answer that is not a success is the envelope, whatever produced it —
an AppError, Django's URL resolver (unknown route, a path parameter that does not match),
a 405, a body over DATA_UPLOAD_MAX_MEMORY_SIZE (413, before anything reads it), a lost
database (503). (A body that is not JSON, 415, or not UTF-8, 422, is refused by
kernel/api.py once the caller is known to be allowed.)

Pages: an AppError raised by a view renders the error page with its status;
`unauthenticated` goes to sign-in; `step_up_required` goes to the step-up page and back
to the form with what the user typed; a 405 gets a page with a way back.

It is the outermost middleware but the request log's (which only times and logs): a
database lost while another middleware reads the session is `unavailable` too (Django
reports that failure through `got_request_exception`, in development before any handler
could see it).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Final

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.signals import got_request_exception
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from kernel import errors
from kernel.errors import AppError, ErrorCode
from kernel.pages import keep_input
from kernel.rendering import api_error_response, as_app_error, is_unavailable, page_error_response
from kernel.stepup import step_up_url

UNSAFE: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


class ErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api(request):
            refusal = _refuse_api_body(request)
            if refusal is not None:
                return api_error_response(refusal)
        response = self.get_response(request)
        failure = request.__dict__.get(_FAILURE)
        if response.status_code == 500 and failure is not None and is_unavailable(failure):
            return self.process_exception(request, failure) or response
        if is_api(request):
            return _enveloped(request, response)
        if response.status_code == 405 and not response.content:
            page = page_error_response(request, errors.method_not_allowed(request.method or ""))
            page["Allow"] = response.get("Allow", "")
            return page
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, AppError) or is_unavailable(exception):
            error = as_app_error(exception)
        else:
            return None  # Django's handlers (config/views.py) log and render the rest
        if is_api(request):
            return api_error_response(error)
        return page_response(request, error)


_FAILURE: Final = "_kernel_failure"


@receiver(got_request_exception)
def remember_failure(sender: object, request: HttpRequest | None = None, **kwargs: object) -> None:
    """Keep what escaped a view or a middleware, for ErrorMiddleware to classify."""
    if request is not None:
        request.__dict__[_FAILURE] = sys.exc_info()[1]


def page_response(request: HttpRequest, error: AppError) -> HttpResponse:
    if error.code == ErrorCode.UNAUTHENTICATED:
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
    if error.code == ErrorCode.STEP_UP_REQUIRED and error.step_up_action:
        unsafe = request.method in UNSAFE
        back = getattr(request, "return_to", None) or (
            request.path if unsafe else request.get_full_path()
        )
        url = step_up_url(error.step_up_action, back)
        if url is not None:
            if unsafe:
                keep_input(request, back, request.POST)
            return redirect(url)
    return page_error_response(request, error)


def _refuse_api_body(request: HttpRequest) -> AppError | None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return errors.invalid_input(_("The Content-Length header is not a number."))
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and length > limit:
        return errors.payload_too_large(limit)
    return None


_BY_STATUS: Final[Mapping[int, Callable[[], AppError]]] = {
    400: lambda: errors.invalid_input(_("The request could not be understood.")),
    401: errors.unauthenticated,
    403: errors.forbidden,
    404: lambda: errors.not_found(_("There is nothing at this address.")),
    413: lambda: errors.payload_too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0),
}


def _enveloped(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Whatever answered outside the API's own handlers (the URL resolver, Django's debug
    pages, a bare 405) answers in the envelope too."""
    if response.status_code < 400 or is_json(response.get("Content-Type", "").split(";")[0]):
        return response
    if response.status_code == 405:
        enveloped = api_error_response(errors.method_not_allowed(request.method or ""))
        enveloped["Allow"] = response.get("Allow", "")
        return enveloped
    return api_error_response(_BY_STATUS.get(response.status_code, errors.server_error)())

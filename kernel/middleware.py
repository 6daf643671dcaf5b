from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from kernel import errors
from kernel.errors import AppError
from kernel.rendering import api_error_response, page_error_response, wants_json


class AppErrorMiddleware:
    """Renders an AppError raised by a view: JSON under /api/, the error page elsewhere."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 405 and wants_json(request):
            # The router's own "method not allowed" answer, in the API's envelope.
            enveloped = api_error_response(errors.method_not_allowed(request.method or ""))
            enveloped["Allow"] = response.get("Allow", "")
            return enveloped
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, AppError):
            return None  # Django's 404/403/500 handlers (config/views.py) take the rest
        if wants_json(request):
            return api_error_response(exception)
        return page_error_response(request, exception)

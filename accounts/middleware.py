from __future__ import annotations

from collections.abc import Callable

from allauth.account.models import EmailAddress
from allauth.mfa.utils import is_mfa_enabled
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse


class AdminAccessMiddleware:
    """The admin needs staff status, then a verified email, then MFA — checked in that
    order, so a session that is not staff learns nothing from the later checks."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            request.path.startswith("/admin/")
            and user.is_authenticated
            and user.is_active
            and user.is_staff
        ):
            if not EmailAddress.objects.filter(user=user, verified=True).exists():
                return refused(request, missing="verified_email")
            if not is_mfa_enabled(user):
                return refused(request, missing="two_factor")
        return self.get_response(request)


def refused(request: HttpRequest, *, missing: str) -> HttpResponse:
    """A 403 page that links to the page fixing what is missing."""
    response = TemplateResponse(
        request, "admin/access_refused.html", {"missing": missing}, status=403
    )
    return response.render()

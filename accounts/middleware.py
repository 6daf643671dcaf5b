from __future__ import annotations

import contextlib
import zoneinfo
from collections.abc import Callable

from allauth.account.models import EmailAddress
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone, translation


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


class TimeZoneMiddleware:
    """Dates render in the viewer's time zone on every page: their profile's zone is the
    current one while the request runs (signed out: settings.TIME_ZONE)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        zone = getattr(user, "time_zone", "") if user.is_authenticated else ""
        timezone.deactivate()
        if zone:
            # A zone this system no longer knows: the site's.
            with contextlib.suppress(zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.activate(zoneinfo.ZoneInfo(zone))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class LanguageMiddleware:
    """The signed-in person's profile language beats what LocaleMiddleware chose (the
    language cookie, then Accept-Language, then LANGUAGE_CODE). LocaleMiddleware runs
    before authentication, so this step runs after it; a language no longer offered
    leaves LocaleMiddleware's choice standing."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        language = getattr(user, "language", "") if user.is_authenticated else ""
        if language and language in dict(settings.LANGUAGES):
            translation.activate(language)
            request.LANGUAGE_CODE = language
        # No deactivate: LocaleMiddleware's response step reads it for Content-Language.
        return self.get_response(request)


def refused(request: HttpRequest, *, missing: str) -> HttpResponse:
    """A 403 page that links to the page fixing what is missing."""
    response = TemplateResponse(
        request, "admin/access_refused.html", {"missing": missing}, status=403
    )
    return response.render()

"""Notification pages: the list (mark one or all read, plain forms that work without
JavaScript), the email preferences under Account, and the signed unsubscribe link."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.notifications import (
    notification_list as list_query,
)
from accounts.notifications import (
    notification_mark_all_read,
    notification_mark_read,
    notification_preferences,
    notification_preferences_update,
)
from kernel.door import call
from kernel.notification_mail import read_unsubscribe_token
from kernel.notification_mail import unsubscribe as unsubscribe_token_use
from kernel.notifications import Category
from kernel.pages import ActionView, FormView


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    page = call(list_query, request)
    return render(request, "accounts/notifications.html", {"page": page})


class NotificationRead(ActionView):
    function = notification_mark_read
    back = "notification_list"

    def fixed_input(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"notification_id": kwargs["notification_id"]}


class NotificationReadAll(ActionView):
    function = notification_mark_all_read
    back = "notification_list"

    def done(self, request: HttpRequest, value: Any, **kwargs: Any) -> HttpResponse:
        messages.success(request, _("All notifications marked read."))
        return redirect("notification_list")


class PreferencesPage(FormView):
    """How each category of notification is emailed: immediately, daily, or never."""

    function = notification_preferences_update
    template_name = "accounts/notification_preferences.html"

    def done(self, request: HttpRequest, value: Any, **kwargs: Any) -> HttpResponse:
        messages.success(request, _("Email preferences saved."))
        return redirect("notification_preferences")

    def context(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"preferences": call(notification_preferences, request)}

    def initial(
        self, request: HttpRequest, page: Mapping[str, Any], **kwargs: Any
    ) -> Mapping[str, Any]:
        return {p.category: p.delivery for p in page["preferences"]}


@csrf_exempt  # the token is the authority; mail clients POST it without a session (RFC 8058)
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks (a link scanner must not unsubscribe anyone), POST turns the email off —
    for the token's own person and categories only, signed in or not."""
    found = read_unsubscribe_token(token)
    if found is None:
        return render(request, "accounts/unsubscribe.html", {"invalid": True}, status=404)
    categories = ", ".join(Category(c).label for c in found[1])
    if request.method == "POST":
        if unsubscribe_token_use(token) is None:
            return render(request, "accounts/unsubscribe.html", {"invalid": True}, status=404)
        return render(
            request, "accounts/unsubscribe.html", {"done": True, "categories": categories}
        )
    return render(request, "accounts/unsubscribe.html", {"token": token, "categories": categories})

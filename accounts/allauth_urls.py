"""allauth's sensitive views wrapped in the step-up guard. The manifest mounts these
before `allauth.urls` (config/urls.py), so the guarded versions answer on allauth's own
paths and names."""

from __future__ import annotations

from functools import wraps
from typing import Any, Final

from allauth.account import views as account_views
from allauth.mfa.totp import views as totp_views
from allauth.mfa.webauthn import views as webauthn_views
from allauth.usersessions import views as usersessions_views
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import path

from accounts.views import email_page, two_factor_sign_in
from kernel.pages import View_, step_up_first

EMAIL_CHANGES: Final = ("action_add", "action_remove", "action_primary")
"""The email page's buttons that change an address ("re-send verification" does not)."""


def change_email(view: View_) -> View_:
    """Step up when an address is added, removed or made primary; never to look."""
    guarded = step_up_first("account.change_email", unsafe_only=True)(view)

    @wraps(view)
    def email(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if any(name in request.POST for name in EMAIL_CHANGES):
            return guarded(request, *args, **kwargs)
        return view(request, *args, **kwargs)

    return email


change_password = step_up_first("account.change_password")
remove_factor = step_up_first("mfa.remove_authenticator")
sign_out_sessions = step_up_first("account.sign_out_sessions", unsafe_only=True)

urlpatterns = [
    path(
        "sessions/",
        sign_out_sessions(usersessions_views.list_usersessions),
        name="usersessions_list",
    ),
    path("email/", change_email(email_page), name="account_email"),
    path("2fa/authenticate/", two_factor_sign_in, name="mfa_authenticate"),
    path(
        "password/change/",
        change_password(account_views.password_change),
        name="account_change_password",
    ),
    path("password/set/", change_password(account_views.password_set), name="account_set_password"),
    path(
        "2fa/totp/deactivate/",
        remove_factor(totp_views.deactivate_totp),
        name="mfa_deactivate_totp",
    ),
    path(
        "2fa/webauthn/keys/<int:pk>/remove/",
        remove_factor(webauthn_views.remove_webauthn),
        name="mfa_remove_webauthn",
    ),
]

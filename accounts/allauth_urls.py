"""allauth's sensitive views wrapped in the step-up guard. The manifest mounts these
before `allauth.urls` (config/urls.py), so the guarded versions answer on allauth's own
paths and names."""

from allauth.account import views as account_views
from allauth.mfa.totp import views as totp_views
from allauth.mfa.webauthn import views as webauthn_views
from allauth.usersessions import views as usersessions_views
from django.urls import path

from kernel.pages import step_up_first

change_email = step_up_first("account.change_email")
change_password = step_up_first("account.change_password")
remove_factor = step_up_first("mfa.remove_authenticator")
sign_out_sessions = step_up_first("account.sign_out_sessions", unsafe_only=True)

urlpatterns = [
    path(
        "sessions/",
        sign_out_sessions(usersessions_views.list_usersessions),
        name="usersessions_list",
    ),
    path("email/", change_email(account_views.email), name="account_email"),
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

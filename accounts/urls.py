"""Account pages, and allauth's sensitive views wrapped in the step-up guard.

These patterns come before `allauth.urls` in config/urls.py, so the guarded versions
answer on allauth's own paths and names.
"""

from allauth.account import views as account_views
from allauth.mfa.totp import views as totp_views
from allauth.mfa.webauthn import views as webauthn_views
from allauth.usersessions import views as usersessions_views
from django.urls import path

from accounts import views
from accounts.views import step_up_required

change_email = step_up_required("account.change_email")
change_password = step_up_required("account.change_password")
remove_factor = step_up_required("mfa.remove_authenticator")

sign_out_sessions = step_up_required("account.sign_out_sessions", unsafe_only=True)

allauth_overrides = [
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

account_pages = [
    path("", views.account_overview, name="account_overview"),
    path("step-up/done/", views.step_up_done, name="account_step_up_done"),
    path("step-up/<str:action>/", views.step_up, name="account_step_up"),
    path("delete/", views.delete_account, name="account_delete"),
]

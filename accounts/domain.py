"""What the accounts app brings to the kernel (kernel/manifest.py)."""

from datetime import timedelta

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.utils.translation import gettext_lazy

from accounts.stepup import SessionStepUp
from kernel.actor import Actor
from kernel.manifest import FUNCTION_MODULES, Domain, Step
from kernel.notification_mail import send_digests
from kernel.notifications import NotificationKind
from kernel.sensitive import SensitiveAction
from kernel.tasks import Periodic


# Onboarding steps (the dashboard's checklist), read from allauth's own tables.
def email_verified(actor: Actor) -> bool:
    return bool(EmailAddress.objects.filter(user_id=actor.user_id, verified=True).exists())


def two_factor_set_up(actor: Actor) -> bool:
    second_factors = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)
    found = Authenticator.objects.filter(user_id=actor.user_id, type__in=second_factors)
    return bool(found.exists())


domain = Domain(
    "accounts",
    sensitive_actions=[
        SensitiveAction("account.sign_out_sessions", 1, "sign out your other sessions"),
        SensitiveAction("mfa.manage", 2, "set up two-factor authentication"),
        SensitiveAction("account.change_email", 3, "change your email address"),
        SensitiveAction("account.change_password", 3, "change your password"),
        SensitiveAction("mfa.remove_authenticator", 3, "remove a sign-in factor"),
        SensitiveAction("account.delete", 4, "delete your account"),
        SensitiveAction("impersonation.start", 4, "view the site as another person"),
    ],
    # allauth's guarded views first: they answer on allauth's own paths and names.
    urls=[("accounts/", "accounts.allauth_urls"), ("account/", "accounts.urls")],
    api="accounts.api",
    step_up=SessionStepUp(),
    function_modules=(*FUNCTION_MODULES, "impersonation", "notifications"),
    notifications=[
        NotificationKind(
            "account.viewed_by_operator",
            category="security",
            text=gettext_lazy(
                "An operator ({operator}) viewed the site as you, to help with: {reason}"
            ),
        ),
    ],
    # The kernel's notifications, mailed once a day to those who chose the digest.
    periodic=[Periodic(send_digests, every=timedelta(days=1))],
    onboarding=[
        Step("Verify your email address", "account_email", done=email_verified, order=10),
        Step("Set up two-factor authentication", "mfa_index", done=two_factor_set_up, order=40),
    ],
)

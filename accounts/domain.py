"""What the accounts app brings to the kernel (kernel/manifest.py)."""

from accounts.stepup import SessionStepUp
from kernel.manifest import Domain
from kernel.sensitive import SensitiveAction

domain = Domain(
    "accounts",
    sensitive_actions=[
        SensitiveAction("account.sign_out_sessions", 1, "sign out your other sessions"),
        SensitiveAction("mfa.manage", 2, "set up two-factor authentication"),
        SensitiveAction("account.change_email", 3, "change your email address"),
        SensitiveAction("account.change_password", 3, "change your password"),
        SensitiveAction("mfa.remove_authenticator", 3, "remove a sign-in factor"),
        SensitiveAction("account.delete", 4, "delete your account"),
    ],
    # allauth's guarded views first: they answer on allauth's own paths and names.
    urls=[("accounts/", "accounts.allauth_urls"), ("account/", "accounts.urls")],
    api="accounts.api",
    step_up=SessionStepUp(),
)

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.core.mail import EmailMessage, EmailMultiAlternatives

from accounts.audit import record_security_event
from accounts.mail import html_version
from accounts.models import SecurityEvent, User
from kernel import actors
from kernel.errors import AppError
from kernel.stepup import satisfied


class AccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]  # allauth is untyped
    def reauthenticate(self, user: User, password: str) -> bool:
        """Password re-authentication (allauth's flow); failures are audited."""
        ok: bool = super().reauthenticate(user, password)
        if not ok:
            record_security_event(
                request=getattr(self, "request", None),
                user=user,
                kind="step_up.password",
                result=SecurityEvent.Result.FAILURE,
            )
        return ok

    def is_reauthentication_required(self, *, app: str, **kwargs: Any) -> bool:
        """allauth asks before its two-factor pages (adding a passkey, an authenticator,
        recovery codes), and counts only re-authentications. Here they are step-up level
        2 ("mfa.manage"): a sign-in within STEP_UP_FRESH_SESSION_SECONDS counts too, so
        adding a passkey right after signing in asks nothing more. Removing a factor is
        level 3, asked by accounts/allauth_urls.py."""
        if not super().is_reauthentication_required(app=app, **kwargs):
            return False
        request = getattr(self, "request", None)
        if request is None:
            return True
        try:
            person = actors.resolve_person(request)
        except AppError:
            return True
        return not satisfied(person, "mfa.manage")

    def render_mail(
        self,
        template_prefix: str,
        email: str | list[str],
        context: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> EmailMessage:
        """Every email is text + HTML: the HTML part wraps the text in the mail layout,
        unless a `<prefix>_message.html` template exists."""
        message: EmailMessage = super().render_mail(template_prefix, email, context, headers)
        if isinstance(message, EmailMultiAlternatives) and not message.alternatives:
            html = html_version(str(message.subject), str(message.body))
            message.attach_alternative(html, "text/html")
        return message

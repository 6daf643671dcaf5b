from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from allauth.mfa.adapter import DefaultMFAAdapter
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.http import HttpRequest, HttpResponseBase
from django.utils import translation
from django.utils.crypto import get_random_string

from accounts.audit import record_security_event
from accounts.mail import html_version, language_of_address
from accounts.models import SecurityEvent, User
from kernel import actors
from kernel.client_ip import client_ip
from kernel.errors import AppError
from kernel.languages import recipient_language
from kernel.stepup import satisfied
from kernel.tasks import send_email


@dataclass(frozen=True)
class Site:
    """What allauth's emails call `current_site`: the product's name, not the request's
    host (without the Sites framework allauth would name the site "127.0.0.1:8000")."""

    name: str
    domain: str


def current_site() -> Site:
    request = getattr(allauth_context, "request", None)
    domain = request.get_host() if request is not None else settings.SITE_URL.split("://")[-1]
    return Site(settings.SITE_NAME, domain)


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

    def respond_email_verification_sent(
        self, request: HttpRequest, user: User | None
    ) -> HttpResponseBase:
        """With no user, this answers a sign-up for an address that already has an
        account (allauth tells its owner by email and answers as for a new one). A new
        address's sign-up hashed the password, a third of a second with Django's PBKDF2:
        hash it here too, or the response time would say which addresses have accounts."""
        if user is None:
            make_password(str(request.POST.get("password1") or get_random_string(20)))
        response: HttpResponseBase = super().respond_email_verification_sent(request, user)
        return response

    def get_client_ip(self, request: HttpRequest) -> str:
        """allauth's rate limits and session list see the client the audit log sees
        (kernel/client_ip.py, behind TRUSTED_PROXIES proxies)."""
        address = client_ip(request)
        if address is None:
            raise PermissionDenied("Unable to determine client IP address")
        return address

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """allauth's send_mail, delivered by a task: rendered now, so a request costs the
        same whoever it is for, and an unreachable mail server delays the email instead
        of failing the sign-up."""
        context = {
            "request": allauth_context.request,
            "email": email,
            **context,
            "current_site": current_site(),
        }
        user = context.get("user")
        language = recipient_language(user) if user is not None else language_of_address(email)
        with translation.override(language):  # allauth's templates, in allauth's catalogue
            message = self.render_mail(template_prefix, email, context)
        send_email(message)

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


class MFAAdapter(DefaultMFAAdapter):  # type: ignore[misc]  # allauth is untyped
    def _get_site_name(self) -> str:
        """Authenticator apps and passkey prompts show the product's name."""
        return str(settings.SITE_NAME)

"""Our own emails (step-up codes, invitations): text + HTML, like allauth's, rendered now
and delivered by a task (kernel.tasks.send_email), in the recipient's language: their
profile's choice, else settings.LANGUAGE_CODE — never the language of whoever caused
the email (an invitation to a German-speaking member is German, whoever sent it)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

from accounts.models import User
from kernel.languages import recipient_language
from kernel.tasks import send_email


def language_of_address(address: str) -> str:
    """The language of whoever has an account at `address` (someone invited before they
    sign up has none yet: the default)."""
    user = User.objects.filter(email__iexact=address).only("language").first()
    return recipient_language(user)


def html_version(subject: str, text: str) -> str:
    """The HTML part: the text's paragraphs in the mail layout, links made clickable."""
    return render_to_string(
        "emails/layout.html",
        {"subject": subject, "paragraphs": text.split("\n\n"), "site_name": settings.SITE_NAME},
    )


def send_templated_mail(
    template_prefix: str, to: str, context: dict[str, Any], *, language: str | None = None
) -> None:
    """Renders `<prefix>_subject.txt` and `<prefix>_message.txt` and sends both parts, in
    `language`, else the language of the account at `to`."""
    with translation.override(language or language_of_address(to)):
        subject = " ".join(render_to_string(f"{template_prefix}_subject.txt", context).split())
        body = render_to_string(f"{template_prefix}_message.txt", context).strip()
        html = html_version(subject, body)
    message = EmailMultiAlternatives(
        f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}", body, settings.DEFAULT_FROM_EMAIL, [to]
    )
    message.attach_alternative(html, "text/html")
    send_email(message)

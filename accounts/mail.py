"""Our own emails (step-up codes, invitations): text + HTML, like allauth's, rendered now
and delivered by a task (kernel.tasks.send_email)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from kernel.tasks import send_email


def html_version(subject: str, text: str) -> str:
    """The HTML part: the text's paragraphs in the mail layout, links made clickable."""
    return render_to_string(
        "emails/layout.html",
        {"subject": subject, "paragraphs": text.split("\n\n"), "site_name": settings.SITE_NAME},
    )


def send_templated_mail(template_prefix: str, to: str, context: dict[str, Any]) -> None:
    """Renders `<prefix>_subject.txt` and `<prefix>_message.txt` and sends both parts."""
    subject = " ".join(render_to_string(f"{template_prefix}_subject.txt", context).split())
    body = render_to_string(f"{template_prefix}_message.txt", context).strip()
    message = EmailMultiAlternatives(
        f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}", body, settings.DEFAULT_FROM_EMAIL, [to]
    )
    message.attach_alternative(html_version(subject, body), "text/html")
    send_email(message)

"""Development email: printed readably and kept to read at /dev/mail/.

The console backend prints the raw MIME message, whose quoted-printable text splits long
links with `=` line breaks. This backend prints each email's decoded text part instead
and writes the whole message to DEV_MAIL_DIR as an `.eml` file, so every process of the
development server (runserver, the test servers) shares one mailbox that /dev/mail/ reads.
The pages answer 404 unless DEBUG is on.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage as MimeMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

KEPT = 200  # the newest emails kept; older ones are deleted as new ones arrive
NAME = re.compile(r"^[0-9]{8}T[0-9]{6}-[0-9a-f]{32}$")
# The HTML part runs in a sandboxed frame: its inline styles, data/https images, no script.
HTML_PART_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; frame-ancestors 'self'"
)


class DevelopmentEmailBackend(ConsoleBackend):
    def write_message(self, message: EmailMessage) -> None:
        mime = message.message()
        store(mime.as_bytes())
        parsed = parse(mime.as_bytes())
        rule = "-" * 79
        self.stream.write(
            f"{rule}\nEmail to {parsed['To']} (read it at {settings.SITE_URL}/dev/mail/)\n"
            f"From: {parsed['From']}\nSubject: {parsed['Subject']}\n\n{text_part(parsed)}\n{rule}\n"
        )


def store(raw: bytes) -> str:
    """Writes one email; returns its id (sortable: the time it was sent comes first)."""
    folder = Path(settings.DEV_MAIL_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex}"
    (folder / f"{name}.eml").write_bytes(raw)
    for old in sorted(folder.glob("*.eml"), reverse=True)[KEPT:]:
        old.unlink(missing_ok=True)
    return name


def parse(raw: bytes) -> MimeMessage:
    message: MimeMessage = BytesParser(policy=policy.default).parsebytes(raw)
    return message


def text_part(message: MimeMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    return str(part.get_content()).strip() if part is not None else "(no text part)"


def html_part(message: MimeMessage) -> str | None:
    part = message.get_body(preferencelist=("html",))
    return str(part.get_content()) if part is not None else None


@dataclass(frozen=True)
class Mail:
    id: str
    sent_at: datetime
    to: str
    subject: str
    message: MimeMessage


def mail_list() -> list[Mail]:
    folder = Path(settings.DEV_MAIL_DIR)
    files = sorted(folder.glob("*.eml"), reverse=True) if folder.is_dir() else []
    return [_read(path) for path in files if NAME.match(path.stem)]


def mail_get(mail_id: str) -> Mail:
    path = Path(settings.DEV_MAIL_DIR) / f"{mail_id}.eml"
    if not NAME.match(mail_id) or not path.is_file():
        raise Http404("No such email.")
    return _read(path)


def _read(path: Path) -> Mail:
    message = parse(path.read_bytes())
    sent_at = datetime.strptime(path.stem[:15], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    return Mail(path.stem, sent_at, str(message["To"]), str(message["Subject"]), message)


def _development_only() -> None:
    if not settings.DEBUG:
        raise Http404("There is nothing at this address.")


@require_GET
def mailbox(request: HttpRequest) -> HttpResponse:
    _development_only()
    return render(request, "dev/mail_list.html", {"mails": mail_list()})


@require_GET
def mail_detail(request: HttpRequest, mail_id: str) -> HttpResponse:
    _development_only()
    mail = mail_get(mail_id)
    context: dict[str, Any] = {
        "mail": mail,
        "text": text_part(mail.message),
        "has_html": html_part(mail.message) is not None,
    }
    return render(request, "dev/mail_detail.html", context)


@require_GET
@xframe_options_sameorigin
def mail_html(request: HttpRequest, mail_id: str) -> HttpResponse:
    """The HTML part alone, for the detail page's sandboxed frame."""
    _development_only()
    html = html_part(mail_get(mail_id).message)
    if html is None:
        raise Http404("This email has no HTML part.")
    response = HttpResponse(html)
    response["Content-Security-Policy"] = HTML_PART_CSP
    return response

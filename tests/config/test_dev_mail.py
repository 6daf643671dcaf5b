"""Development email (config/dev_mail.py): printed decoded, kept at /dev/mail/, 404 in
production; emails name the product (SITE_NAME), not the request's host."""

from __future__ import annotations

import re

import pytest
from django.test import Client, override_settings

from tests.accounts.helpers import make_verified_user
from tests.tasks import run_tasks, sent_mail

pytestmark = pytest.mark.django_db

DEV_BACKEND = {"default": {"BACKEND": "config.dev_mail.DevelopmentEmailBackend"}}
# Long enough that quoted-printable would split it with "=" soft line breaks.
RESET_LINK = re.compile(r"http://testserver/accounts/password/reset/key/[0-9a-z]+-[0-9a-z-]+/")


@pytest.fixture
def dev_mail(tmp_path):
    with override_settings(MAILERS=DEV_BACKEND, DEV_MAIL_DIR=tmp_path, DEBUG=True):
        yield tmp_path


def request_password_reset(email: str = "ada@example.com") -> None:
    make_verified_user(email)
    response = Client().post("/accounts/password/reset/", {"email": email})
    assert response.status_code == 302
    run_tasks()  # the worker delivers it


def test_an_email_a_request_queued_is_printed_decoded_and_listed(dev_mail, capsys):
    request_password_reset()
    printed = capsys.readouterr().out
    assert "Subject: [SaaS Starter] Password Reset Email" in printed
    assert RESET_LINK.search(printed), printed  # one line, no "=" soft breaks
    assert "=\n" not in printed
    assert len(list(dev_mail.glob("*.eml"))) == 1

    client = Client()
    listing = client.get("/dev/mail/").content.decode()
    assert "ada@example.com" in listing
    found = re.search(r'href="(/dev/mail/[^"/]+/)"', listing)
    assert found, listing
    detail_path = found.group(1)
    detail = client.get(detail_path).content.decode()
    link = RESET_LINK.search(detail)
    assert link
    assert f'<a href="{link.group(0)}"' in detail
    assert '<iframe class="mail-html" sandbox src="' in detail

    html = client.get(f"{detail_path}html")
    assert "SaaS Starter" in html.content.decode()
    assert html["Content-Security-Policy"].startswith("default-src 'none'")
    assert html["X-Frame-Options"] == "SAMEORIGIN"


def test_dev_mail_is_404_when_debug_is_off(dev_mail):
    request_password_reset()
    mail_id = next(dev_mail.glob("*.eml")).stem
    with override_settings(DEBUG=False):
        client = Client()
        for path in ("/dev/mail/", f"/dev/mail/{mail_id}/", f"/dev/mail/{mail_id}/html"):
            assert client.get(path).status_code == 404, path


def test_unknown_or_malformed_mail_ids_are_404(dev_mail):
    client = Client()
    assert client.get("/dev/mail/20260101T000000-" + "0" * 32 + "/").status_code == 404
    assert client.get("/dev/mail/..%2F..%2Fsecret_key/").status_code == 404


def test_emails_name_the_product_not_the_host():
    with override_settings(SITE_NAME="Acme Cloud"):
        request_password_reset()
    body = str(sent_mail()[-1].body)
    assert "Hello from Acme Cloud!" in body
    assert "Thank you for using Acme Cloud!" in body
    assert "Hello from testserver" not in body


def test_without_email_url_development_uses_the_dev_backend_and_production_the_console():
    from config.email import default_mailer_from_url
    from config.env import Env

    assert default_mailer_from_url(Env({}), development=True)["BACKEND"].endswith(
        "dev_mail.DevelopmentEmailBackend"
    )
    assert default_mailer_from_url(Env({}))["BACKEND"].endswith("console.EmailBackend")

"""allauth's pages in the product's layout and form components (templates/allauth/)."""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser

import pytest
import time_machine
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client, override_settings

from tests.accounts.helpers import PASSWORD, login, make_verified_user
from tests.accounts.test_stepup import reauthenticate
from tests.tasks import sent_mail

pytestmark = pytest.mark.django_db

FIREFOX_ON_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Gecko/20100101 Firefox/128.0"
)


class Forms(HTMLParser):
    """Each form's buttons' classes, and every label's text."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[list[str]] = []
        self.labels: list[str] = []
        self._in_form = self._in_label = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.forms.append([])
            self._in_form = True
        elif tag == "label":
            self._in_label = True
            self.labels.append("")
        elif self._in_form and (
            tag == "button" or (tag == "a" and "button" in (values.get("class") or ""))
        ):
            self.forms[-1].append(" ".join((values.get("class") or "").split()))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "label":
            self._in_label = False

    def handle_data(self, data: str) -> None:
        if self._in_label:
            self.labels[-1] += data


def main_part(html: str) -> str:
    return html.split('<main id="main"', 1)[1].split("</main>", 1)[0]


def assert_product_form_page(html: str) -> None:
    page = Forms()
    page.feed(main_part(html))
    labels = [" ".join(label.split()) for label in page.labels]
    assert not [label for label in labels if label.endswith(":")], labels
    for buttons in page.forms:
        primary = [classes for classes in buttons if classes == "button"]
        assert len(primary) <= 1, buttons


def signed_in(email: str = "ada@example.com", *, totp: bool = False) -> Client:
    user = make_verified_user(email)
    if totp:
        TOTP.activate(user, generate_totp_secret())
        RecoveryCodes.activate(user)
    client = Client(HTTP_USER_AGENT=FIREFOX_ON_MAC)
    if totp:
        client.force_login(user)
    else:
        login(client, email)
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})  # allauth's MFA pages ask
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/login/code/",
        "/accounts/password/reset/",
        "/accounts/password/reset/done/",
        "/accounts/confirm-email/",
        "/accounts/reauthenticate/",
    ],
)
def test_entrance_pages_use_the_centered_card_and_the_product_form(path):
    client = signed_in() if path == "/accounts/reauthenticate/" else Client()
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="auth-brand"' in html
    assert "SaaS Starter" in html
    assert 'class="panel auth-card"' in html
    assert_product_form_page(html)


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/2fa/",
        "/accounts/2fa/totp/activate/",
        "/accounts/2fa/webauthn/",
        "/accounts/2fa/webauthn/add/",
        "/accounts/sessions/",
    ],
)
def test_manage_pages_sit_beside_the_account_sections(path):
    response = signed_in().get(path)
    assert response.status_code == 200, response
    html = response.content.decode()
    assert 'class="side-nav" aria-label="Account"' in html
    assert_product_form_page(html)


def test_fields_have_labels_above_help_and_errors_linked_by_aria(client):
    response = client.post(
        "/accounts/signup/", {"email": "new@example.com", "password1": "x", "password2": "x"}
    )
    html = main_part(response.content.decode())
    assert '<label for="id_email">Email</label>' in html
    assert 'aria-invalid="true"' in html
    assert re.search(r'aria-describedby="[^"]*id_password1_error', html)
    assert 'id="id_password1_error"' in html
    assert 'id="id_password1_helptext"' in html
    assert_product_form_page(response.content.decode())


def test_sign_up_links_the_terms_and_privacy_pages(client):
    html = client.get("/accounts/signup/").content.decode()
    assert 'href="/terms/">Terms of Service</a>' in html
    assert 'href="/privacy/">Privacy Policy</a>' in html
    for path, title in (("/terms/", "Terms of Service"), ("/privacy/", "Privacy Policy")):
        page = client.get(path)
        assert page.status_code == 200
        assert f"<h1>{title}</h1>" in page.content.decode()


def test_the_check_your_email_page_points_at_the_terminal_and_dev_mail_in_development(client):
    with override_settings(DEBUG=True):
        html = client.get("/accounts/confirm-email/").content.decode()
    assert "printed in the terminal" in html
    assert 'href="/dev/mail/"' in html
    assert 'href="/accounts/login/">Sign in again' in html
    in_production = client.get("/accounts/confirm-email/").content.decode()
    assert "/dev/mail/" not in in_production


def test_signing_in_again_resends_the_verification_email_rate_limited_by_allauth(client):
    client.post(
        "/accounts/signup/",
        {"email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert len(sent_mail()) == 1
    again = Client()
    response = login(again, "new@example.com")
    assert response.url == "/accounts/confirm-email/"
    assert len(sent_mail()) == 1  # allauth's confirm_email limit: one per three minutes
    with time_machine.travel(time.time() + 4 * 60):
        login(Client(), "new@example.com")
    assert len(sent_mail()) == 2
    assert "new@example.com" in sent_mail()[-1].to


def test_the_email_page_labels_have_no_colons_and_resend_is_a_quiet_link():
    client = signed_in()
    reauthenticate(client, "account.change_email")
    client.post("/accounts/email/", {"action_add": "", "email": "new@example.com"})
    html = client.get("/accounts/email/").content.decode()
    assert_product_form_page(html)
    assert "Changing to" in html
    assert re.search(r'class="button button-quiet"[^>]*\s+name="action_send"', html)


def test_recovery_codes_have_copy_and_download():
    client = signed_in(totp=True)
    html = client.get("/accounts/2fa/recovery-codes/").content.decode()
    assert 'id="recovery-codes"' in html
    assert 'data-copy="#recovery-codes"' in html
    assert 'href="/accounts/2fa/recovery-codes/download/"' in html


def test_sessions_name_the_browser_and_system_not_the_raw_user_agent():
    html = signed_in().get("/accounts/sessions/").content.decode()
    assert "Firefox on macOS" in html
    assert f">{FIREFOX_ON_MAC}<" not in html


def test_passkey_pages_opened_on_an_ip_address_explain_and_link_localhost():
    client = signed_in()
    on_ip = client.get("/accounts/2fa/webauthn/add/", HTTP_HOST="127.0.0.1:8000")
    html = on_ip.content.decode()
    assert "Passkeys don't work on an IP address" in html
    assert 'href="http://localhost:8000/accounts/2fa/webauthn/add/"' in html
    on_localhost = client.get("/accounts/2fa/webauthn/add/", HTTP_HOST="localhost:8000")
    assert "IP address" not in on_localhost.content.decode()
    sign_in = Client().get("/accounts/login/", HTTP_HOST="127.0.0.1:8000").content.decode()
    assert 'href="http://localhost:8000/accounts/login/"' in sign_in

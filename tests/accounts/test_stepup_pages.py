"""Step-up only when needed, never losing input: regression tests through the pages where
each problem was found (issue 14, point 10)."""

from __future__ import annotations

import time

import pytest
import time_machine
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.core import mail
from django.test import Client

from accounts.models import User
from tests.accounts.helpers import (
    PASSWORD,
    is_signed_in,
    link_in_last_mail,
    login,
    make_verified_user,
    secret_code,
)
from tests.tasks import sent_mail

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_factor() -> tuple[User, str]:
    user = make_verified_user("ada@example.com")
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return user, secret


def sign_in_with_totp(client: Client, user: User, secret: str, at: float) -> None:
    assert login(client, user.email, PASSWORD).status_code == 302
    client.post("/accounts/2fa/authenticate/", {"code": secret_code(secret, at)})
    assert is_signed_in(client)


def test_adding_a_passkey_right_after_a_two_factor_sign_in_asks_nothing_more(two_factor):
    """Regression: password + TOTP, then Add a passkey asked for the password again."""
    user, secret = two_factor
    client = Client()
    now = time.time()
    with time_machine.travel(now, tick=False):
        sign_in_with_totp(client, user, secret, now)
        page = client.get("/accounts/2fa/webauthn/add/")
    assert page.status_code == 200
    assert b'name="name"' in page.content  # the passkey form itself


def test_a_sign_in_past_the_fresh_window_is_asked_again(two_factor):
    user, secret = two_factor
    client = Client()
    now = time.time()
    with time_machine.travel(now, tick=False):
        sign_in_with_totp(client, user, secret, now)
    later = now + settings.STEP_UP_FRESH_SESSION_SECONDS + 1
    with time_machine.travel(later, tick=False):
        asked = client.get("/accounts/2fa/webauthn/add/")
        assert asked.status_code == 302
        assert "reauthenticate" in asked["Location"]
        # Re-authenticating (allauth's own window) lets it through again.
        client.post(asked["Location"], {"password": PASSWORD})
        assert client.get("/accounts/2fa/webauthn/add/").status_code == 200


def test_the_email_page_opens_without_a_step_up(two_factor):
    """Regression: Account → Email asked for a password just to look."""
    user, secret = two_factor
    client = Client()
    now = time.time()
    with time_machine.travel(now, tick=False):
        sign_in_with_totp(client, user, secret, now)
        page = client.get("/accounts/email/")
    assert page.status_code == 200
    assert user.email.encode() in page.content


def test_resending_a_verification_email_needs_no_step_up():
    user = make_verified_user("ada@example.com")
    EmailAddress.objects.create(user=user, email="new@example.com", verified=False)
    client = Client()
    login(client, user.email)
    response = client.post("/accounts/email/", {"action_send": "", "email": "new@example.com"})
    assert response.status_code == 302
    assert not response["Location"].startswith("/account/step-up/")


def test_a_person_with_two_factor_changes_their_email(two_factor):
    """docs/accounts.md says so: asked to confirm when the change is sent, then back on
    the page with the address they typed; the new address waits for its verification."""
    user, secret = two_factor
    client = Client()
    now = time.time()
    with time_machine.travel(now, tick=False):
        sign_in_with_totp(client, user, secret, now)
        sent = client.post("/accounts/email/", {"action_add": "", "email": "ada@new.example"})
        assert sent.status_code == 302
        step_up = sent["Location"]
        assert step_up.startswith("/account/step-up/account.change_email/")
        page = client.get(step_up)
        assert b"authenticator" in page.content.lower()
    with time_machine.travel(now + 30, tick=False):  # the next code (each code works once)
        back = client.post(
            "/accounts/2fa/reauthenticate/?next=/account/step-up/done/",
            {"code": secret_code(secret, now + 30)},
        )
        assert back.status_code == 302
        assert client.get(back["Location"])["Location"] == "/accounts/email/"
        form = client.get("/accounts/email/")
        assert b'value="ada@new.example"' in form.content  # what was typed, kept
        mail.outbox.clear()
        done = client.post("/accounts/email/", {"action_add": "", "email": "ada@new.example"})
    assert done.status_code == 302
    assert done["Location"] == "/accounts/email/"
    pending = EmailAddress.objects.get(user=user, email="ada@new.example")
    assert not pending.verified
    assert any("ada@new.example" in message.to for message in sent_mail())
    user.refresh_from_db()
    assert user.email == "ada@example.com"  # replaced once the new one is verified

    confirm = link_in_last_mail()
    assert client.post(confirm).status_code == 302
    user.refresh_from_db()
    assert user.email == "ada@new.example"
    assert list(EmailAddress.objects.filter(user=user).values_list("email", flat=True)) == [
        "ada@new.example"
    ]

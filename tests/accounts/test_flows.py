"""Full account flows through allauth's real views, with mail read from the outbox."""

from __future__ import annotations

import time

import pytest
import time_machine
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.core.mail import EmailMultiAlternatives
from django.test import Client

from accounts.models import User
from tests.accounts.helpers import (
    PASSWORD,
    is_signed_in,
    link_in_last_mail,
    login,
    login_code_in_last_mail,
    make_verified_user,
    secret_code,
    totp_code,
)
from tests.tasks import sent_mail

pytestmark = pytest.mark.django_db


def test_sign_up_verify_then_sign_in(client: Client):
    response = client.post(
        "/accounts/signup/",
        {"email": "Grace@Example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert not is_signed_in(client)  # verification is mandatory
    user = User.objects.get(email="grace@example.com")
    assert not EmailAddress.objects.get(user=user).verified

    confirm = link_in_last_mail()
    assert confirm.startswith("/accounts/confirm-email/")
    assert client.post(confirm).status_code == 302

    assert EmailAddress.objects.get(user=user).verified
    assert is_signed_in(client)
    client.post("/accounts/logout/")
    assert not is_signed_in(client)

    assert login(client, "grace@example.com").status_code == 302
    assert is_signed_in(client)


def test_an_unverified_account_cannot_sign_in(client: Client):
    User.objects.create_user("new@example.com", PASSWORD)
    EmailAddress.objects.create(email="new@example.com", user=User.objects.get(), verified=False)
    login(client, "new@example.com")
    assert not is_signed_in(client)
    assert "confirm your email" in last_subject().lower()


def last_subject() -> str:
    return str(sent_mail()[-1].subject)


def test_password_reset(client: Client):
    make_verified_user("ada@example.com")
    client.post("/accounts/password/reset/", {"email": "ada@example.com"})
    reset_link = link_in_last_mail()
    set_password_page = client.get(reset_link, follow=True)
    form_url = (
        set_password_page.redirect_chain[-1][0] if set_password_page.redirect_chain else reset_link
    )
    new_password = "another-Long-passphrase-77"

    response = client.post(form_url, {"password1": new_password, "password2": new_password})

    assert response.status_code == 302
    assert login(Client(), "ada@example.com", new_password).status_code == 302
    assert User.objects.get().check_password(new_password)


def test_login_by_emailed_code(client: Client):
    make_verified_user("ada@example.com")
    client.post("/accounts/login/code/", {"email": "ada@example.com"})
    code = login_code_in_last_mail()

    client.post("/accounts/login/code/confirm/", {"code": code})

    assert is_signed_in(client)


@pytest.mark.django_db(transaction=True)  # allauth sends the notice on commit
def test_totp_enrolment_login_and_recovery_code(client: Client):
    user = make_verified_user("ada@example.com")
    login(client, "ada@example.com")
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})

    activate = client.get("/accounts/2fa/totp/activate/")
    secret = activate.context["form"].secret
    now = time.time()
    response = client.post("/accounts/2fa/totp/activate/", {"code": secret_code(secret, now)})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert "authenticator app activated" in last_subject().lower()  # the security notice

    # A new sign-in now stops at the second factor until a real TOTP code is given.
    fresh = Client()
    with time_machine.travel(now + 60, tick=False):
        login(fresh, "ada@example.com")
        assert not is_signed_in(fresh)
        fresh.post("/accounts/2fa/authenticate/", {"code": "000000"})
        assert not is_signed_in(fresh)
        fresh.post("/accounts/2fa/authenticate/", {"code": totp_code(user, now + 60)})
        assert is_signed_in(fresh)

    # A recovery code works once, in place of the authenticator app.
    client.get("/accounts/2fa/recovery-codes/")  # generated with the first factor
    recovery = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    spare = RecoveryCodes(recovery).get_unused_codes()[0]
    for attempt in range(2):
        other = Client()
        login(other, "ada@example.com")
        other.post("/accounts/2fa/authenticate/", {"code": spare})
        assert is_signed_in(other) is (attempt == 0)


def test_every_email_has_text_and_html(client: Client):
    make_verified_user("ada@example.com")
    client.post("/accounts/password/reset/", {"email": "ada@example.com"})
    message = sent_mail()[-1]
    assert message.body
    assert isinstance(message, EmailMultiAlternatives)
    html = str({mime: body for body, mime in message.alternatives}["text/html"])
    assert "<html" in html
    assert "/accounts/password/reset/key/" in html


@pytest.mark.django_db
def test_the_second_step_offers_no_security_key_to_someone_without_one(client: Client):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    user = make_verified_user("ada@example.com")
    TOTP.activate(user, generate_totp_secret())
    login(client, "ada@example.com")
    page = client.get("/accounts/2fa/authenticate/").content.decode()
    assert "authenticator code" in page
    assert "Use a security key" not in page  # with one, it is (tests/e2e/test_passkeys.py)

"""Drive allauth's real views the way a browser would."""

from __future__ import annotations

import re

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from allauth.mfa.utils import decrypt
from django.core import mail
from django.test import Client

from accounts.models import User
from tests.tasks import run_tasks

PASSWORD = "a-Long-and-Unusual-passphrase-42"


def make_verified_user(email: str = "ada@example.com", password: str | None = PASSWORD) -> User:
    user = User.objects.create_user(email, password)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def operator_client(email: str = "ops@example.com") -> Client:
    """A signed-in staff superuser with a second factor: what the admin lets in."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    user = make_verified_user(email)
    user.is_staff = user.is_superuser = True
    user.save()
    TOTP.activate(user, generate_totp_secret())
    client = Client()
    client.force_login(user)
    return client


def login(client: Client, email: str, password: str = PASSWORD):
    return client.post("/accounts/login/", {"login": email, "password": password})


def last_mail_body() -> str:
    """The body of the last email sent, once the queue has delivered what is waiting."""
    run_tasks()
    return str(mail.outbox[-1].body)


def link_in_last_mail() -> str:
    match = re.search(r"https?://[^/\s]+(/\S+)", last_mail_body())
    assert match, last_mail_body()
    return match.group(1)


def code_in_last_mail(length: int = 6) -> str:
    match = re.search(rf"\b([0-9]{{{length}}})\b", last_mail_body())
    assert match, last_mail_body()
    return match.group(1)


def totp_code(user: User, at: float) -> str:
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    secret = decrypt(authenticator.data["secret"])
    return format_hotp_value(hotp_value(secret, int(at) // 30))


def secret_code(secret: str, at: float) -> str:
    return format_hotp_value(hotp_value(secret, int(at) // 30))


def is_signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def login_code_in_last_mail() -> str:
    match = re.search(r"\b([A-Z0-9]{4}-[A-Z0-9]{4})\b", last_mail_body())
    assert match, last_mail_body()
    return match.group(1)

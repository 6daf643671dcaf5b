"""Abuse resistance, operators' admin access, account deletion, social configuration."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client

from accounts.models import SecurityEvent, User
from kernel.permissions import Role
from organizations.models import Membership, Organization
from tests.accounts.helpers import PASSWORD, is_signed_in, login, make_verified_user
from tests.factories import MembershipFactory, OrganizationFactory
from tests.tasks import sent_mail

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def normalized(html: bytes, *emails: str) -> str:
    """The page with the tokens that always differ (CSRF, the typed email) removed."""
    text = html.decode()
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)
    for email in emails:
        text = text.replace(email, "EMAIL")
    return text


# --- no account enumeration ---------------------------------------------------------------


def test_sign_up_does_not_reveal_existing_accounts():
    make_verified_user("taken@example.com")
    responses = []
    for email in ("taken@example.com", "free@example.com"):
        response = Client().post(
            "/accounts/signup/",
            {"email": email, "password1": PASSWORD, "password2": PASSWORD},
            follow=True,
        )
        responses.append(
            (response.status_code, response.redirect_chain, normalized(response.content, email))
        )
    assert responses[0] == responses[1]
    # The owner of the taken address is told by email instead.
    assert any("taken@example.com" in message.to for message in sent_mail())


def test_password_reset_does_not_reveal_existing_accounts():
    make_verified_user("known@example.com")
    responses = []
    for email in ("known@example.com", "unknown@example.com"):
        response = Client().post("/accounts/password/reset/", {"email": email}, follow=True)
        responses.append(
            (response.status_code, response.redirect_chain, normalized(response.content, email))
        )
    assert responses[0] == responses[1]


def test_login_code_request_does_not_reveal_existing_accounts():
    make_verified_user("known@example.com")
    responses = []
    for email in ("known@example.com", "unknown@example.com"):
        response = Client().post("/accounts/login/code/", {"email": email}, follow=True)
        responses.append((response.status_code, normalized(response.content, email)))
    assert responses[0] == responses[1]


def test_wrong_password_and_unknown_email_get_the_same_message():
    make_verified_user("known@example.com")
    wrong = login(Client(), "known@example.com", "not-the-password")
    unknown = login(Client(), "nobody@example.com", "not-the-password")
    assert wrong.status_code == unknown.status_code == 200
    assert normalized(wrong.content, "known@example.com") == normalized(
        unknown.content, "nobody@example.com"
    )


# --- rate limits --------------------------------------------------------------------------


def test_the_sixth_failed_login_in_the_window_is_refused_even_with_the_right_password():
    make_verified_user("ada@example.com")
    client = Client()
    for _ in range(5):
        login(client, "ada@example.com", "wrong-password")
    response = login(client, "ada@example.com")
    assert not is_signed_in(client)
    assert b"Too many failed login attempts" in response.content


# --- the operators' admin -----------------------------------------------------------------


def staff(email: str, *, verified: bool = True, mfa: bool = True) -> User:
    user = make_verified_user(email) if verified else User.objects.create_user(email, PASSWORD)
    user.is_staff = user.is_superuser = True
    user.save()
    if mfa:
        TOTP.activate(user, generate_totp_secret())
    return user


def test_a_staff_user_without_mfa_cannot_reach_the_admin():
    client = Client()
    client.force_login(staff("ops@example.com", mfa=False))
    response = client.get("/admin/")
    assert response.status_code == 403
    assert b"two-factor" in response.content


def test_a_staff_user_with_an_unverified_email_cannot_reach_the_admin():
    client = Client()
    client.force_login(staff("ops@example.com", verified=False, mfa=False))
    response = client.get("/admin/")
    assert response.status_code == 403
    assert b"Verify your email" in response.content


def test_a_non_staff_user_learns_nothing_about_the_admin_checks():
    client = Client()
    client.force_login(make_verified_user("user@example.com"))
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert b"two-factor" not in response.content
    assert b"Verify your email" not in response.content


def test_staff_with_verified_email_and_mfa_reach_the_admin_and_see_users():
    client = Client()
    client.force_login(staff("ops@example.com"))
    assert client.get("/admin/").status_code == 200
    users = client.get("/admin/accounts/user/?q=ops")
    assert users.status_code == 200
    assert b"ops@example.com" in users.content


def test_the_admin_login_goes_through_the_site_sign_in():
    response = Client().get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- account deletion ---------------------------------------------------------------------


def delete_with_step_up(client: Client, email: str):
    """Send the form, confirm it is you when asked, and come back to the form."""
    asked = client.post("/account/delete/", {"confirm_email": email})
    assert asked.status_code == 302
    step_up = asked["Location"]
    assert step_up.startswith("/account/step-up/account.delete/")
    client.get(step_up)  # starts the pending step-up
    client.post("/accounts/reauthenticate/?next=/account/step-up/done/", {"password": PASSWORD})
    form = client.get("/account/delete/")
    assert f'value="{email}"'.encode() in form.content  # what was typed, kept
    return client.post("/account/delete/", {"confirm_email": email})


def test_deleting_an_account_removes_the_user_and_schedules_their_solo_organizations():
    """The account (personal data) goes at once; an organization it alone belonged to is
    scheduled for deletion like any other (docs/operations.md)."""
    user = make_verified_user("leaving@example.com")
    solo = OrganizationFactory()
    MembershipFactory(organization=solo, user=user, role=Role.OWNER)
    shared = OrganizationFactory()
    MembershipFactory(organization=shared, user=user, role=Role.MEMBER)
    MembershipFactory(organization=shared, role=Role.OWNER)
    client = Client()
    login(client, user.email)

    response = delete_with_step_up(client, user.email)

    assert response.status_code == 302
    assert not User.objects.filter(email="leaving@example.com").exists()
    scheduled = Organization.objects.get(pk=solo.pk)
    assert scheduled.status == Organization.Status.PENDING_DELETION
    assert scheduled.status_reason == "Deleted with the account of leaving@example.com"
    assert not Membership.objects.for_organization(solo.pk).exists()
    assert Organization.objects.get(pk=shared.pk).status == Organization.Status.ACTIVE
    assert Membership.objects.for_organization(shared.pk).count() == 1
    event = SecurityEvent.objects.get(kind="account.delete")
    assert (event.result, event.user_email, event.user) == ("success", "leaving@example.com", None)
    assert not is_signed_in(client)


def test_the_only_owner_is_told_before_any_step_up():
    """Regression: the page asked for a password, then said the deletion was impossible."""
    user = make_verified_user("owner@example.com")
    org = OrganizationFactory(name="Acme")
    MembershipFactory(organization=org, user=user, role=Role.OWNER)
    MembershipFactory(organization=org, role=Role.MEMBER)
    client = Client()
    login(client, user.email)

    page = client.get("/account/delete/")
    assert page.status_code == 200
    assert b"You are the only owner of Acme" in page.content
    assert b"transfer ownership or delete it first" in page.content
    assert b'name="confirm_email"' not in page.content  # no form that would refuse

    response = client.post("/account/delete/", {"confirm_email": user.email})
    assert response.status_code == 409  # refused on the page, no step-up asked
    assert b"only owner of Acme" in response.content
    assert User.objects.filter(pk=user.pk).exists()
    assert SecurityEvent.objects.filter(kind="account.delete", result="denied").exists()
    assert not SecurityEvent.objects.filter(kind__startswith="step_up").exists()


def test_a_mistyped_address_is_refused_before_any_step_up():
    user = make_verified_user("ada@example.com")
    client = Client()
    login(client, user.email)
    response = client.post("/account/delete/", {"confirm_email": "someone@example.com"})
    assert response.status_code == 422
    assert b"Type your email address exactly" in response.content


def test_deletion_needs_a_fresh_step_up_each_time():
    user = make_verified_user("ada@example.com")
    client = Client()
    login(client, user.email)
    response = client.post("/account/delete/", {"confirm_email": user.email})
    assert response.status_code == 302
    assert response["Location"].startswith("/account/step-up/account.delete/")
    assert User.objects.filter(pk=user.pk).exists()


# --- social sign-in is configuration only -------------------------------------------------

SOCIAL_PROBE = """
import django; django.setup()
from django.conf import settings
from django.urls import NoReverseMatch, reverse
try:
    reverse("google_login"); print("google:on")
except NoReverseMatch:
    print("google:off")
"""


def run_probe(**env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "MICROSOFT_"))}
    return subprocess.run(
        [sys.executable, "-c", SOCIAL_PROBE],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "true", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_social_providers_are_off_without_credentials_and_on_with_them():
    assert run_probe().stdout.strip() == "google:off"
    on = run_probe(GOOGLE_CLIENT_ID="id.apps.googleusercontent.com", GOOGLE_CLIENT_SECRET="s3cret")
    assert on.stdout.strip() == "google:on", on.stderr


def test_the_login_page_has_no_dead_provider_buttons():
    assert b"Google" not in Client().get("/accounts/login/").content

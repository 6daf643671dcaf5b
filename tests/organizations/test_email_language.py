"""Emails are written in their recipient's language (their profile's choice, else the
default), whatever language the person who caused them reads."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client, TestCase

from kernel.door import call
from kernel.permissions import Role
from organizations import mutations
from tests.accounts.helpers import make_verified_user
from tests.conftest import actor_for
from tests.factories import MembershipFactory, UserFactory
from tests.tasks import sent_mail


@pytest.fixture(scope="module", autouse=True)
def _compiled_catalogue(django_db_blocker) -> None:
    with django_db_blocker.unblock():
        call_command("compilemessages", locale=["de"], verbosity=0)


def invite(owner, email: str) -> None:
    with TestCase.captureOnCommitCallbacks(execute=True):
        call(mutations.invitation_create, actor_for(owner), {"email": email, "role": Role.MEMBER})


def test_an_invitation_to_someone_whose_profile_says_german_is_german(org):
    owner = MembershipFactory(organization=org, role=Role.OWNER, user__display_name="Ada")
    UserFactory(email="grete@example.com", language="de")
    invite(owner, "grete@example.com")
    message = sent_mail()[-1]
    assert message.to == ["grete@example.com"]
    assert message.subject.endswith(f"Ada hat Sie zu {org.name} eingeladen")
    assert message.body.startswith("Guten Tag,")
    assert f"Ada hat Sie eingeladen, {org.name} mit der Rolle Mitglied beizutreten." in message.body
    html = message.alternatives[0][0]  # type: ignore[attr-defined]
    assert '<html lang="de">' in html
    assert "Guten Tag," in html


def test_an_invitation_to_an_address_without_an_account_is_in_the_default_language(org):
    owner = MembershipFactory(organization=org, role=Role.OWNER, user__language="de")
    invite(owner, "new.person@example.com")  # sent by a German speaker: still the default
    message = sent_mail()[-1]
    assert message.body.startswith("Hello,")
    assert "with the role Member" in message.body
    assert "Guten Tag" not in message.body


def test_allauths_emails_follow_the_recipients_profile(db):
    user = make_verified_user("grete@example.com")
    user.language = "de"
    user.save(update_fields=["language"])
    make_verified_user("ada@example.com")
    client = Client()
    client.post("/accounts/password/reset/", {"email": "grete@example.com"})
    client.post("/accounts/password/reset/", {"email": "ada@example.com"})
    german, english = sent_mail()[-2:]
    assert german.to == ["grete@example.com"]
    assert "E-Mail zum Zurücksetzen des Passworts" in german.subject
    assert "Password Reset Email" in english.subject

"""Invitations, including their edge cases and the race for the last seat."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connections
from django.test import Client, TestCase
from django.utils import timezone

from kernel.door import call
from kernel.errors import AppError, ErrorCode
from kernel.permissions import Role
from organizations import mutations
from organizations.models import AuditEvent, Invitation, Membership
from tests.accounts.helpers import PASSWORD, make_verified_user
from tests.conftest import actor_for, person_for
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from tests.tasks import sent_mail

FREE_SEATS = 5


@pytest.fixture
def owner(org) -> Membership:
    return MembershipFactory(organization=org, role=Role.OWNER)


def emailed_token() -> str:
    """The token of the invitation link in the last email (the only place it exists)."""
    # The newest invitation email: other emails (a notification) may have come after it.
    for message in reversed(sent_mail()):
        found = re.search(r"/invitations/([^/\s]+)/", str(message.body))
        if found:
            return found.group(1)
    raise AssertionError("no invitation email was sent")


def invite(owner: Membership, email: str, role: Role = Role.MEMBER) -> str:
    """Invite through the door, run the after-commit email, return the link's token."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        call(mutations.invitation_create, actor_for(owner), {"email": email, "role": role})
    return emailed_token()


def accept(user, token: str) -> Membership:
    return Membership.objects.unscoped().get(
        pk=call(mutations.invitation_accept, person_for(user), {"token": token}).id
    )


def code_of(error_info) -> str:
    return str(error_info.value.code)


def test_an_invitation_emails_a_link_whose_token_is_stored_only_hashed(
    owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        token = invite(owner, "New.Person@Example.com")
    invitation = Invitation.objects.for_organization(owner.organization_id).get()
    assert invitation.email == "new.person@example.com"
    assert token not in invitation.token_hash
    message = sent_mail()[-1]
    assert message.to == ["new.person@example.com"]
    assert f"/invitations/{token}/" in message.body
    assert owner.organization.name in message.subject
    assert "text/html" in str(getattr(message, "alternatives", ""))  # an HTML part too
    assert (
        AuditEvent.objects.for_organization(owner.organization_id)
        .filter(action="invitation.create", target="new.person@example.com")
        .exists()
    )


def test_accepting_as_the_signed_in_invitee_joins_with_the_invited_role(owner):
    token = invite(owner, "Invitee@Example.com", Role.VIEWER)
    invitee = make_verified_user("invitee@example.com")
    client = Client()
    client.force_login(invitee)

    page = client.get(f"/invitations/{token}/")
    assert b"Accept" in page.content
    response = client.post(f"/invitations/{token}/accept/")

    assert response.status_code == 302
    membership = Membership.objects.for_organization(owner.organization_id).get(user=invitee)
    assert membership.role == Role.VIEWER
    assert client.session["active_organization_id"] == owner.organization_id


def test_a_reused_link_gets_a_clear_page(owner):
    token = invite(owner, "invitee@example.com")
    invitee = make_verified_user("invitee@example.com")
    accept(invitee, token)
    client = Client()
    client.force_login(invitee)
    page = client.get(f"/invitations/{token}/")
    assert page.status_code == 410
    assert b"already been accepted" in page.content
    with pytest.raises(AppError) as raised:
        accept(invitee, token)
    assert code_of(raised) == "conflict"


def test_an_expired_link_gets_a_clear_page(owner):
    token = invite(owner, "invitee@example.com")
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        page = Client().get(f"/invitations/{token}/")
        assert page.status_code == 410
        assert b"expired" in page.content
        with pytest.raises(AppError):
            accept(make_verified_user("invitee@example.com"), token)


def test_a_revoked_link_gets_a_clear_page(owner):
    token = invite(owner, "invitee@example.com")
    invitation = Invitation.objects.for_organization(owner.organization_id).get()
    call(mutations.invitation_revoke, actor_for(owner), {"invitation_id": invitation.pk})
    page = Client().get(f"/invitations/{token}/")
    assert page.status_code == 410
    assert b"withdrawn" in page.content


def test_an_unknown_link_is_not_found(db):
    page = Client().get("/invitations/not-a-real-token/")
    assert page.status_code == 404
    assert b"not valid" in page.content


def test_acceptance_is_bound_to_the_invited_address(owner):
    token = invite(owner, "invitee@example.com")
    stranger = make_verified_user("stranger@example.com")
    with pytest.raises(AppError) as raised:
        accept(stranger, token)
    assert code_of(raised) == "forbidden"
    client = Client()
    client.force_login(stranger)
    assert b"Sign out, then open this link again" in client.get(f"/invitations/{token}/").content
    assert (
        not Membership.objects.for_organization(owner.organization_id)
        .filter(user=stranger)
        .exists()
    )


def test_emails_are_compared_case_insensitively(owner):
    token = invite(owner, "MiXeD@Example.COM")
    member = accept(make_verified_user("mixed@example.com"), token)
    assert member.organization_id == owner.organization_id
    with pytest.raises(AppError) as raised:
        invite(owner, "MIXED@example.com")
    assert code_of(raised) == "conflict"  # already a member


def test_a_pending_address_cannot_be_invited_twice(owner):
    invite(owner, "twice@example.com")
    with pytest.raises(AppError) as raised:
        invite(owner, "Twice@Example.com")
    assert code_of(raised) == "conflict"
    assert "pending" in raised.value.message


def test_no_one_invites_above_their_own_role(org, owner):
    admin = MembershipFactory(organization=org, role=Role.ADMIN)
    with pytest.raises(AppError) as raised:
        invite(admin, "boss@example.com", Role.OWNER)
    assert code_of(raised) == "forbidden"
    assert not Invitation.objects.for_organization(org.pk).exists()
    assert (
        AuditEvent.objects.for_organization(org.pk)
        .filter(action="invitation.create", result="denied")
        .exists()
    )


def test_accepting_while_already_a_member_is_a_clear_error(owner):
    token = invite(owner, "invitee@example.com")
    invitee = make_verified_user("invitee@example.com")
    MembershipFactory(organization=owner.organization, user=invitee, role=Role.VIEWER)
    with pytest.raises(AppError) as raised:
        accept(invitee, token)
    assert code_of(raised) == "conflict"
    assert "already a member" in raised.value.message


def test_someone_removed_can_be_invited_again(owner):
    token = invite(owner, "again@example.com")
    person = make_verified_user("again@example.com")
    membership = accept(person, token)
    call(mutations.member_remove, actor_for(owner), {"membership_id": membership.pk})

    second = invite(owner, "again@example.com")
    assert accept(person, second).organization_id == owner.organization_id


def test_decline(owner):
    token = invite(owner, "no@example.com")
    person = make_verified_user("no@example.com")
    client = Client()
    client.force_login(person)
    client.post(f"/invitations/{token}/decline/")
    invitation = Invitation.objects.for_organization(owner.organization_id).get()
    assert invitation.declined_at is not None
    assert (
        not Membership.objects.for_organization(owner.organization_id).filter(user=person).exists()
    )


def test_a_known_user_signs_in_first_and_a_new_person_signs_up_first(owner):
    token = invite(owner, "known@example.com")
    make_verified_user("known@example.com")
    assert b"Sign in to accept" in Client().get(f"/invitations/{token}/").content
    fresh = invite(owner, "fresh@example.com")
    assert b"Create your account to accept" in Client().get(f"/invitations/{fresh}/").content


def test_a_new_person_signs_up_verifies_and_accepts(owner):
    token = invite(owner, "newbie@example.com")
    client = Client()
    client.post(
        f"/accounts/signup/?next=/invitations/{token}/",
        {"email": "newbie@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+)", str(sent_mail()[-1].body))
    assert link
    client.post(link.group(1))
    response = client.post(f"/invitations/{token}/accept/")
    assert response.status_code == 302
    user = Membership.objects.for_organization(owner.organization_id).filter(
        user__email="newbie@example.com"
    )
    assert user.exists()


def test_resend_rotates_the_link(owner, settings):
    old = invite(owner, "resend@example.com")
    invitation = Invitation.objects.for_organization(owner.organization_id).get()
    with TestCase.captureOnCommitCallbacks(execute=True):
        call(mutations.invitation_resend, actor_for(owner), {"invitation_id": invitation.pk})
    new = emailed_token()
    assert new != old
    assert Client().get(f"/invitations/{old}/").status_code == 404
    assert Client().get(f"/invitations/{new}/").status_code == 200


def test_resend_is_rate_limited_per_organization(owner, settings):
    settings.INVITATION_RESENDS_PER_HOUR = 2
    invite(owner, "a@example.com")
    invitation = Invitation.objects.for_organization(owner.organization_id).get()
    actor = actor_for(owner)
    call(mutations.invitation_resend, actor, {"invitation_id": invitation.pk})
    invite(owner, "b@example.com")
    with pytest.raises(AppError) as raised:
        call(mutations.invitation_resend, actor, {"invitation_id": invitation.pk})
    assert code_of(raised) == "rate_limited"
    assert raised.value.retry_after


def test_pending_invitations_take_seats(owner):
    for n in range(FREE_SEATS - 1):  # the owner holds one seat
        invite(owner, f"seat{n}@example.com")
    with pytest.raises(AppError) as raised:
        invite(owner, "one-too-many@example.com")
    assert code_of(raised) == "plan_limit"
    assert "Upgrade to Pro" in raised.value.message


def test_invitations_are_refused_in_personal_mode(owner, settings):
    settings.ORGANIZATIONS_MODE = "personal"
    with pytest.raises(AppError) as raised:
        invite(owner, "someone@example.com")
    assert code_of(raised) == "forbidden"
    assert "personal mode" in raised.value.message


@pytest.mark.django_db(transaction=True)
def test_two_invitations_racing_for_the_last_seat_one_wins():
    org = OrganizationFactory()
    owner = MembershipFactory(organization=org, role=Role.OWNER)
    for _ in range(FREE_SEATS - 2):
        MembershipFactory(organization=org, user=UserFactory(), role=Role.MEMBER)
    actor = actor_for(owner)
    start = threading.Barrier(2, timeout=10)
    outcomes: list[str] = []

    def attempt(email: str) -> None:
        try:
            start.wait()
            call(mutations.invitation_create, actor, {"email": email})
            outcomes.append("created")
        except AppError as error:
            outcomes.append(error.code.value)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(f"racer{n}@example.com",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes) == ["created", "plan_limit"]
    assert Invitation.objects.for_organization(org.pk).count() == 1
    assert ErrorCode.PLAN_LIMIT.value in outcomes

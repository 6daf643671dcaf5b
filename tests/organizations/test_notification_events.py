"""Organization events notify the people concerned, and nobody else: never another
organization's members, never the person who acted (unless it is about them)."""

from __future__ import annotations

import pytest
from django.test import TestCase

from kernel.door import call
from kernel.errors import AppError
from kernel.models import Notification
from kernel.notifications import notification_text
from kernel.permissions import Role
from organizations import exports, mutations
from organizations.models import Membership
from tests.conftest import actor_for
from tests.factories import MembershipFactory, UserFactory
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(org) -> Membership:
    return MembershipFactory(organization=org, role=Role.OWNER)


@pytest.fixture
def bystanders(org, other_org) -> list[int]:
    """A member here and the owner of another organization: told nothing."""
    here = MembershipFactory(organization=org, role=Role.ADMIN)
    there = MembershipFactory(organization=other_org, role=Role.OWNER)
    return [here.user_id, there.user_id]


def told(user_id: int) -> list[Notification]:
    return list(Notification.objects.filter(user_id=user_id))


def test_inviting_someone_with_an_account_tells_them_once(org, owner, bystanders):
    invitee = UserFactory(email="grace@example.com")
    with TestCase.captureOnCommitCallbacks(execute=True):
        call(
            mutations.invitation_create,
            actor_for(owner),
            {"email": "Grace@Example.com", "role": Role.ADMIN},
        )
    (notice,) = told(invitee.pk)
    assert notice.kind == "invitation.received"
    assert notice.organization_id == org.pk
    text = notification_text(notice)
    assert "Acme" in text
    assert "admin" in text
    assert "grace@example.com" in text
    assert Notification.objects.count() == 1
    assert not Notification.objects.filter(user_id__in=[owner.user_id, *bystanders]).exists()


def test_inviting_an_address_without_an_account_notifies_nobody(org, owner, bystanders):
    with TestCase.captureOnCommitCallbacks(execute=True):
        call(mutations.invitation_create, actor_for(owner), {"email": "new@example.com"})
    assert not Notification.objects.exists()


def test_a_role_change_tells_the_member_only(org, owner, bystanders):
    target = MembershipFactory(organization=org, role=Role.MEMBER)
    call(
        mutations.member_update_role,
        actor_for(owner),
        {"membership_id": target.pk, "role": Role.ADMIN},
    )
    (notice,) = told(target.user_id)
    assert notice.kind == "member.role_changed"
    assert notification_text(notice) == "Your role in Acme is now admin."
    assert notice.link == "/organization/"
    assert Notification.objects.count() == 1
    # The same role again is no news.
    call(
        mutations.member_update_role,
        actor_for(owner),
        {"membership_id": target.pk, "role": Role.ADMIN},
    )
    assert Notification.objects.count() == 1


def test_a_refused_role_change_tells_nobody(org, other_org, bystanders):
    viewer = MembershipFactory(organization=org, role=Role.VIEWER)
    target = MembershipFactory(organization=org, role=Role.MEMBER)
    foreign = MembershipFactory(organization=other_org, role=Role.MEMBER)
    with pytest.raises(AppError) as wrong_role:
        call(
            mutations.member_update_role,
            actor_for(viewer),
            {"membership_id": target.pk, "role": Role.VIEWER},
        )
    assert wrong_role.value.code == "forbidden"
    admin = MembershipFactory(organization=org, role=Role.ADMIN)
    with pytest.raises(AppError) as cross:
        call(
            mutations.member_update_role,
            actor_for(admin),
            {"membership_id": foreign.pk, "role": Role.VIEWER},
        )
    assert cross.value.code == "not_found"
    assert not Notification.objects.exists()


def test_removing_a_member_tells_them_and_nobody_else(org, owner, bystanders):
    target = MembershipFactory(organization=org, role=Role.MEMBER)
    call(mutations.member_remove, actor_for(owner), {"membership_id": target.pk})
    (notice,) = told(target.user_id)
    assert notice.kind == "member.removed"
    assert notification_text(notice) == "You were removed from Acme."
    assert Notification.objects.count() == 1


def test_an_export_ready_tells_the_person_who_asked(org, owner, bystanders):
    call(exports.export_request, actor_for(owner))
    run_tasks()
    (notice,) = told(owner.user_id)
    assert notice.kind == "export.ready"
    assert notice.link == "/organization/settings/"
    assert "Acme" in notification_text(notice)
    assert Notification.objects.count() == 1

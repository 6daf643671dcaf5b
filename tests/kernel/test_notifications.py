"""kernel/notifications.py: one function tells people what happened, inside the change's
transaction, once per key, worded in the reader's language; email by preference."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import translation

from kernel.models import Notification, NotificationPreference
from kernel.notifications import (
    KINDS,
    Delivery,
    NotificationKind,
    UnknownNotificationKindError,
    delivery_for,
    notification_text,
    notify,
    notify_members,
)
from kernel.permissions import Role
from tests.factories import UserFactory
from tests.tasks import queued_tasks


def test_notify_creates_one_per_recipient_and_says_how_many(org, member):
    alice, bob = member().user, member().user
    with transaction.atomic():
        created = notify(
            "notes.shared",
            users=[alice.pk, bob.pk, alice.pk],
            organization_id=org.pk,
            params={"name": "Carol"},
            link="/notes/",
        )
    assert created == 2
    rows = Notification.objects.order_by("user_id")
    assert [(n.user_id, n.organization_id, n.kind, n.link) for n in rows] == [
        (alice.pk, org.pk, "notes.shared", "/notes/"),
        (bob.pk, org.pk, "notes.shared", "/notes/"),
    ]
    assert rows[0].params == {"name": "Carol"}
    assert rows[0].read_at is None


def test_a_repeated_key_notifies_once_per_person(org, member):
    alice, bob = member().user, member().user
    with transaction.atomic():
        assert notify("notes.shared", users=[alice.pk], key="event-1") == 1
        assert notify("notes.shared", users=[alice.pk, bob.pk], key="event-1") == 1
        assert notify("notes.shared", users=[alice.pk], key="event-2") == 1
        # Without a key, each call is news.
        assert notify("notes.shared", users=[alice.pk]) == 1
        assert notify("notes.shared", users=[alice.pk]) == 1
    assert Notification.objects.filter(user=alice).count() == 4
    assert Notification.objects.filter(user=bob).count() == 1


@pytest.mark.django_db(transaction=True)
def test_notify_needs_the_transaction_of_the_change_and_a_declared_kind(member):
    alice = member().user
    with pytest.raises(RuntimeError, match="inside the transaction"):
        notify("notes.shared", users=[alice.pk])
    with transaction.atomic(), pytest.raises(UnknownNotificationKindError):
        notify("notes.nonexistent", users=[alice.pk])
    assert not Notification.objects.exists()


def test_a_rolled_back_change_notifies_nobody(member):
    alice = member().user

    class Refused(Exception):
        pass

    def change() -> None:
        with transaction.atomic():
            notify("notes.shared", users=[alice.pk])
            raise Refused

    with pytest.raises(Refused):
        change()
    assert not Notification.objects.exists()
    assert not queued_tasks("send_notification_emails")


def test_notify_members_tells_only_that_organizations_members_whose_role_holds_it(
    org, other_org, member
):
    owner = member(Role.OWNER).user
    admin = member(Role.ADMIN).user
    member(Role.MEMBER)
    member(Role.VIEWER)
    elsewhere = member(Role.OWNER, organization=other_org).user
    departed = member(Role.ADMIN)
    departed.user.is_active = False
    departed.user.save()
    with transaction.atomic():
        created = notify_members(
            "notes.billed",
            organization_id=org.pk,
            permission="notes.delete",  # MANAGERS
            params={"organization": org.name},
        )
    assert created == 2
    assert set(Notification.objects.values_list("user_id", flat=True)) == {owner.pk, admin.pk}
    assert not Notification.objects.filter(user=elsewhere).exists()
    assert set(Notification.objects.values_list("organization_id", flat=True)) == {org.pk}


def test_notify_members_with_everyone_permission_reaches_every_member_once(org, member):
    people = {member(role).user.pk for role in Role}
    with transaction.atomic():
        assert notify_members("notes.shared", organization_id=org.pk, permission="notes.read") == 4
        assert (
            notify_members("notes.shared", organization_id=org.pk, permission="notes.read", key="k")
            == 4
        )
        assert (
            notify_members("notes.shared", organization_id=org.pk, permission="notes.read", key="k")
            == 0
        )
    assert set(Notification.objects.values_list("user_id", flat=True)) == people


def test_the_text_is_worded_when_read_in_the_active_language(member):
    alice = member().user
    with transaction.atomic():
        notify("notes.shared", users=[alice.pk], params={"name": "Carol"})
        notify("notes.shared", users=[alice.pk], params={})  # a missing parameter
    first, second = Notification.objects.order_by("pk")
    assert notification_text(first) == "Carol shared a note."
    assert notification_text(second) == " shared a note."
    first.kind = "gone.kind"  # a kind no manifest declares any more
    with translation.override("en"):
        assert notification_text(first) == "You have a notification."


def test_kinds_come_from_the_manifests_with_a_known_category(db):
    assert KINDS["notes.shared"].category == "organization"
    with pytest.raises(ValueError, match="category must be one of"):
        NotificationKind("notes.odd", category="marketing", text="Hi")


def test_email_state_follows_each_persons_preference(member):
    now, daily, off = member().user, member().user, member().user
    NotificationPreference.objects.create(user=daily, category="organization", delivery="daily")
    NotificationPreference.objects.create(user=off, category="organization", delivery="off")
    with transaction.atomic():
        notify("notes.shared", users=[now.pk, daily.pk, off.pk])
    states = dict(Notification.objects.values_list("user_id", "email"))
    assert states == {now.pk: "pending", daily.pk: "digest", off.pk: "skipped"}
    (task,) = queued_tasks("send_notification_emails")
    assert task.args_kwargs["args"] == [[Notification.objects.get(user=now).pk]]


def test_security_cannot_be_off(db):
    user = UserFactory()
    NotificationPreference.objects.create(user=user, category="security", delivery="off")
    assert delivery_for([user.pk], "security") == {user.pk: Delivery.IMMEDIATELY}
    NotificationPreference.objects.create(user=user, category="billing", delivery="off")
    assert delivery_for([user.pk], "billing") == {user.pk: Delivery.OFF}

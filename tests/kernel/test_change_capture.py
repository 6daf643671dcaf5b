"""Change capture: every write path to a tenant table records (table, organization) and
notifies listeners on commit — never on rollback."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from django.apps import apps
from django.db import connection, transaction

from kernel.change_capture import (
    CHANNEL,
    captured_tables,
    database_conninfo,
    row_captured_tables,
    session_row_key,
)
from kernel.models import Change
from kernel.permissions import Role
from organizations.models import Membership
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def changes() -> list[tuple[str, int | None]]:
    return list(Change.objects.order_by("id").values_list("table_name", "organization_id"))


@pytest.fixture
def listener() -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_conninfo(), autocommit=True) as listening:
        listening.execute(f"LISTEN {CHANNEL}")
        yield listening


def notifications(listening: psycopg.Connection) -> list[str]:
    return [n.payload for n in listening.notifies(timeout=0.5, stop_after=50)]


def test_every_tenant_table_is_captured_except_bookkeeping():
    tables = captured_tables(apps.get_models())
    assert {"organizations_membership", "organizations_invitation"} <= set(tables)
    assert "kernel_idempotencyrecord" not in tables
    by_row = row_captured_tables(apps.get_models())
    assert set(by_row) == {
        "accounts_user",
        "organizations_organization",
        "django_session",
        "kernel_notification",
    }
    assert by_row["kernel_notification"].column == "user_id"  # a person's own, by person
    tables = [*tables, *by_row]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT event_object_table FROM information_schema.triggers "
            "WHERE trigger_name LIKE 'kernel_change_%%'"
        )
        assert {row[0] for row in cursor.fetchall()} == set(tables)


def test_every_write_path_is_captured_and_notified(listener):
    org = OrganizationFactory()
    users = [UserFactory() for _ in range(21)]
    Change.objects.all().delete()
    notifications(listener)
    table = "organizations_membership"

    member = Membership.objects.create(organization=org, user=users[0], role=Role.MEMBER)  # save
    Membership.objects.for_organization(org.pk).update(role=Role.VIEWER)  # QuerySet.update
    Membership.objects.bulk_create(  # bulk: one capture per statement and organization
        [Membership(organization=org, user=user, role=Role.MEMBER) for user in users[1:]]
    )
    with connection.cursor() as cursor:  # raw SQL
        cursor.execute(
            f'UPDATE "{table}" SET role = %s WHERE organization_id = %s', ["admin", org.pk]
        )
    member.delete()

    assert changes() == [(table, org.pk)] * 5
    assert notifications(listener) == [f"{table}:{org.pk}"] * 5


def test_a_statement_touching_two_organizations_records_both(listener):
    first, second = OrganizationFactory(), OrganizationFactory()
    user = UserFactory()
    Membership.objects.bulk_create(
        [
            Membership(organization=first, user=user, role="member"),
            Membership(organization=second, user=user, role="member"),
        ]
    )
    Change.objects.all().delete()
    notifications(listener)

    Membership.objects.unscoped().filter(user=user).update(role=Role.VIEWER)

    assert sorted(changes()) == sorted(
        [("organizations_membership", first.pk), ("organizations_membership", second.pk)]
    )


def test_a_rolled_back_write_records_and_notifies_nothing(listener):
    org = OrganizationFactory()
    Change.objects.all().delete()
    notifications(listener)

    def write_then_fail() -> None:
        with transaction.atomic():
            MembershipFactory(organization=org, role=Role.MEMBER)
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        write_then_fail()

    assert changes() == []
    assert notifications(listener) == []


def test_notifications_arrive_only_at_commit(listener):
    org, user = OrganizationFactory(), UserFactory()
    notifications(listener)
    with transaction.atomic():
        MembershipFactory(organization=org, user=user, role=Role.MEMBER)
        assert notifications(listener) == []  # not yet committed
    assert notifications(listener) == [f"organizations_membership:{org.pk}"]
    assert Membership.objects.for_organization(org.pk).count() == 1


def test_tables_without_an_organization_are_captured_by_row(listener):
    user = UserFactory()
    org = OrganizationFactory()
    notifications(listener)
    type(user).objects.filter(pk=user.pk).update(email="renamed@example.com")
    type(org).objects.filter(pk=org.pk).update(name="Renamed")
    assert notifications(listener) == [
        f"accounts_user:={user.pk}",
        f"organizations_organization:={org.pk}",
    ]


def test_a_persons_notifications_are_named_by_their_user(listener):
    from django.db import transaction

    from kernel.notifications import notify

    alice, bob = UserFactory(), UserFactory()
    notifications(listener)
    with transaction.atomic():
        notify("notes.shared", users=[alice.pk, bob.pk])
    assert sorted(notifications(listener)) == sorted(
        [f"kernel_notification:={alice.pk}", f"kernel_notification:={bob.pk}"]
    )


def test_a_session_is_named_by_the_hash_of_its_key_never_the_key(listener):
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store["x"] = 1
    store.create()
    key = store.session_key
    assert key is not None
    store.delete()
    found = notifications(listener)
    assert found == [f"django_session:={session_row_key(key)}"] * 2  # created, deleted
    assert not any(key in payload for payload in found)
    assert not Change.objects.filter(row_key=key).exists()


def test_only_ascii_digits_name_an_organization_in_a_notification():
    from kernel.change_capture import parse_notification

    assert parse_notification("notes:12") == ("notes", 12)
    assert parse_notification("accounts_user:=7") == ("accounts_user", "7")
    assert parse_notification("notes:²") is None  # str.isdigit() says yes; int() fails
    assert parse_notification("garbage") is None

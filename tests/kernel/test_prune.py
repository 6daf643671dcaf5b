"""Pruning (kernel/prune.py): what has expired goes, in batches; nothing else does."""

from __future__ import annotations

import time
from datetime import timedelta
from io import StringIO
from typing import Any

import psycopg
import pytest
from allauth.usersessions.models import UserSession
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from django.db.models import Max
from django.tasks.base import TaskResultStatus
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from kernel.change_capture import database_conninfo
from kernel.manifest import periodic_tasks
from kernel.models import Change, ChangeHorizon, IdempotencyRecord
from kernel.permissions import Role
from kernel.prune import (
    prune_changes,
    prune_idempotency_records,
    prune_sessions,
    prune_task_results,
    prune_user_sessions,
)
from kernel.worker import Housekeeper
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from tests.tasks import run_tasks

RETENTION = timedelta(minutes=60)  # CHANGE_RETENTION_MINUTES' default
BATCH = 1000


def changes_of(organization_id: int) -> int:
    return Change.objects.filter(organization_id=organization_id).count()


def horizons_taken(*ages: timedelta) -> None:
    """Backdate the horizons recorded so far, oldest first, to these ages."""
    for horizon, age in zip(ChangeHorizon.objects.order_by("taken_at"), ages, strict=True):
        ChangeHorizon.objects.filter(pk=horizon.pk).update(taken_at=timezone.now() - age)


def settled() -> None:
    """Wait until every transaction that wrote a change record so far has ended. Other
    databases' writers count too (transaction ids are server-wide): on a shared server
    another test run may hold the horizon back for a moment."""
    newest = Change.objects.aggregate(newest=Max("xid"))["newest"] or 0
    deadline = time.monotonic() + 30
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
            if cursor.fetchone()[0] > newest:
                return
        if time.monotonic() > deadline:
            pytest.fail("a transaction on this server stayed open for 30 s")
        time.sleep(0.05)


def prune_output(**options: Any) -> str:
    out = StringIO()
    call_command("prune", stdout=out, **options)
    return out.getvalue()


# --- change records -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_change_records_go_with_no_subscriber_anywhere_once_their_transaction_ended_long_ago():
    old, recent, new = OrganizationFactory(), OrganizationFactory(), OrganizationFactory()
    for _ in range(50):  # no hub, no subscriber: nothing else prunes them
        MembershipFactory(organization=old, role=Role.MEMBER)
    assert changes_of(old.pk) == 50
    settled()
    assert "change records: 0 deleted" in prune_output()  # the first run only records
    MembershipFactory(organization=recent, role=Role.MEMBER)
    settled()
    prune_output()
    MembershipFactory(organization=new, role=Role.MEMBER)
    # The first horizon is just beyond the retention, the second just inside it.
    horizons_taken(RETENTION + timedelta(seconds=5), RETENTION - timedelta(seconds=5))
    before = Change.objects.count()

    output = prune_output()

    deleted = before - Change.objects.count()
    assert deleted >= 50
    assert f"change records: {deleted} deleted" in output
    assert changes_of(old.pk) == 0
    assert changes_of(recent.pk) == 1  # ended between the two: not provably old enough
    assert changes_of(new.pk) == 1
    # What a poller would need is still there; only the newest horizon old enough stays.
    assert ChangeHorizon.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_long_transactions_change_records_survive_although_it_started_long_ago():
    """`created_at` is when a row was written, not committed: a transaction open across a
    prune commits rows that look old. A poller has not read them yet, so they must stay."""
    org = OrganizationFactory()
    with psycopg.connect(database_conninfo()) as long_running:
        long_running.execute(
            "INSERT INTO kernel_change (table_name, organization_id, created_at) "
            "VALUES ('organizations_membership', %s, now() - interval '3 hours')",
            [org.pk],
        )
        prune_changes(BATCH)  # while it is still running
        long_running.commit()
    settled()
    horizons_taken(RETENTION * 2)
    prune_changes(BATCH)  # what had ended before the first horizon goes; not this row
    assert changes_of(org.pk) == 1
    horizons_taken(RETENTION * 2, RETENTION + timedelta(seconds=1))  # ended before this one
    assert prune_changes(BATCH) >= 1
    assert changes_of(org.pk) == 0


@pytest.mark.django_db(transaction=True)
def test_change_records_are_deleted_in_batches():
    org = OrganizationFactory()
    for _ in range(5):
        MembershipFactory(organization=org, role=Role.MEMBER)
    kept = OrganizationFactory()
    settled()
    prune_changes(BATCH)
    horizons_taken(RETENTION * 2)
    MembershipFactory(organization=kept, role=Role.MEMBER)
    with CaptureQueriesContext(connection) as queries:
        deleted = prune_changes(2)
    deletes = [q["sql"] for q in queries if q["sql"].startswith('DELETE FROM "kernel_change"')]
    assert deleted >= 10  # five memberships and five people
    assert len(deletes) == (deleted + 1) // 2  # two rows a statement
    assert changes_of(org.pk) == 0
    assert changes_of(kept.pk) == 1


# --- idempotency records ------------------------------------------------------------------


def record(key: str, age: timedelta, organization_id: int | None = None) -> IdempotencyRecord:
    made = IdempotencyRecord.objects.create(
        principal="user:1",
        organization_id=organization_id,
        function="notes.create",
        key=key,
        fingerprint="f",
        result=b"{}",
    )
    IdempotencyRecord.objects.filter(pk=made.pk).update(created_at=timezone.now() - age)
    return made


@pytest.mark.django_db
def test_idempotency_records_go_after_their_replay_window(settings):
    settings.IDEMPOTENCY_TTL_HOURS = 24
    record("expired", timedelta(hours=24, seconds=1), organization_id=1)
    record("other-org-expired", timedelta(hours=30), organization_id=2)
    inside = record("inside", timedelta(hours=23, minutes=59))
    assert prune_idempotency_records(BATCH) == 2
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == [inside.key]


@pytest.mark.django_db
def test_the_idempotency_window_is_a_setting(settings):
    settings.IDEMPOTENCY_TTL_HOURS = 2
    record("three-hours", timedelta(hours=3))
    record("one-hour", timedelta(hours=1))
    assert prune_idempotency_records(BATCH) == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["one-hour"]


# --- sessions ---------------------------------------------------------------------------------


def session(key: str, expires_in: timedelta) -> Session:
    return Session.objects.create(
        session_key=key, session_data="e30", expire_date=timezone.now() + expires_in
    )


def user_session(key: str, user: Any) -> UserSession:
    return UserSession.objects.create(user=user, session_key=key, ip="127.0.0.1", user_agent="t")


@pytest.mark.django_db
def test_expired_sessions_and_their_user_session_rows_go():
    person, other = UserFactory(), UserFactory()
    session("expired" + "x" * 25, -timedelta(seconds=1))
    session("alive" + "x" * 27, timedelta(minutes=1))
    user_session("expired" + "x" * 25, person)
    user_session("alive" + "x" * 27, person)
    user_session("signed-out" + "x" * 22, other)  # its session was deleted at sign-out
    assert prune_sessions(BATCH) == 1
    assert prune_user_sessions(BATCH) == 2
    assert list(Session.objects.values_list("session_key", flat=True)) == ["alive" + "x" * 27]
    assert list(UserSession.objects.values_list("session_key", "user")) == [
        ("alive" + "x" * 27, person.pk)
    ]


# --- task results -------------------------------------------------------------------------


def task_result(status: str, finished_days_ago: float | None) -> DBTaskResult:
    now = timezone.now()
    return DBTaskResult.objects.create(
        status=status,
        finished_at=None if finished_days_ago is None else now - timedelta(days=finished_days_ago),
        args_kwargs={"args": [], "kwargs": {}},
        task_path="tests.kernel.test_prune.nothing",
        backend_name="default",
        run_after=now - timedelta(days=200),
        exception_class_path="",
        traceback="",
    )


@pytest.mark.django_db
def test_finished_task_results_go_after_their_days_failed_ones_later(settings):
    settings.TASK_RESULT_RETENTION_DAYS = 14
    settings.TASK_FAILED_RETENTION_DAYS = 90
    done = TaskResultStatus.SUCCESSFUL
    failed = TaskResultStatus.FAILED
    task_result(done, 14.01)
    task_result(failed, 90.01)
    kept = {
        task_result(done, 13.99).pk,
        task_result(failed, 15).pk,  # failed for good: kept for its error
        task_result(failed, 89.99).pk,
        task_result(TaskResultStatus.READY, None).pk,  # never run, however old
        task_result(TaskResultStatus.RUNNING, None).pk,
    }
    assert prune_task_results(BATCH) == 2
    assert set(DBTaskResult.objects.values_list("pk", flat=True)) == kept


# --- the command --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_command_reports_each_count(settings):
    settings.IDEMPOTENCY_TTL_HOURS = 24
    for n in range(3):
        record(f"k{n}", timedelta(days=2))
    session("expired" + "x" * 25, -timedelta(days=1))
    output = prune_output(batch_size=2)
    assert "idempotency records: 3 deleted" in output
    assert "expired sessions: 1 deleted" in output
    assert "webhook events: 0 deleted" in output  # billing's, registered by the app
    assert not IdempotencyRecord.objects.exists()


# --- as periodic tasks --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_worker_schedules_the_prunes_and_they_run_as_tasks(settings):
    settings.IDEMPOTENCY_TTL_HOURS = 24
    record("expired", timedelta(days=2))
    kept = record("fresh", timedelta(hours=1))
    housekeeper = Housekeeper("prune-test-worker", periodic_tasks())
    try:
        scheduled = housekeeper.schedule()
    finally:
        housekeeper.close()
    assert {"kernel.prune.prune_change_records", "kernel.prune.prune_everything"} <= set(scheduled)
    run_tasks()
    everything = DBTaskResult.objects.get(task_path="kernel.prune.prune_everything")
    assert everything.status == TaskResultStatus.SUCCESSFUL
    counts = everything.return_value or {}
    assert (counts["idempotency records"], counts["webhook events"]) == (1, 0)
    changes = DBTaskResult.objects.get(task_path="kernel.prune.prune_change_records")
    assert changes.status == TaskResultStatus.SUCCESSFUL
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == [kept.key]

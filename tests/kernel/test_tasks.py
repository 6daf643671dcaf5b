"""The task queue for real: tasks are rows written by the change's transaction, retried
with backoff, recovered from a killed worker, scheduled once by many workers."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.db import transaction
from django.tasks import TaskResultStatus
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.models import User
from kernel.permissions import Role
from kernel.tasks import Periodic, RetryPolicy
from kernel.worker import FORGOTTEN, Housekeeper
from organizations.models import Invitation
from tests.accounts.helpers import operator_client
from tests.conftest import JSON, bearer
from tests.private_servers import private_postgres
from tests.servers import (
    _database_url,
    _wait_for_sessions_to_end,
    database_address,
    worker_process,
)
from tests.smtp import smtp_sink
from tests.tasks import run_tasks
from tests.tenant_app import tasks as test_tasks

CLOSED_PORT_MAILER = {
    "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2},  # discard: nobody listens
}


def queued(task_path_end: str) -> list[DBTaskResult]:
    return [row for row in DBTaskResult.objects.all() if row.task_path.endswith(task_path_end)]


def test_a_task_is_enqueued_only_if_its_transaction_commits(db):
    with transaction.atomic():
        test_tasks.tick.enqueue()
        transaction.set_rollback(True)
    assert not queued("tick")
    with transaction.atomic():
        test_tasks.tick.enqueue()
    assert len(queued("tick")) == 1


def test_an_invitation_email_that_fails_is_retried_and_sent_once(db, org, make_key, api):
    """Through the API: the mail server is down when the invitation is created. The
    change stands and the caller gets its 201; the email goes out on a later attempt."""
    key = make_key(Role.OWNER)
    run_tasks()  # the key's creator joining queued a seat count
    with override_settings(MAILERS={"default": CLOSED_PORT_MAILER}):
        response = api.post(
            "/api/v1/invitations",
            {"email": "grace@example.com", "role": "member"},
            content_type=JSON,
            **bearer(key),
        )
        assert response.status_code == 201, response.content
        assert run_tasks() == 1
    [row] = queued("deliver_email")
    assert row.status == TaskResultStatus.READY
    assert len(row.worker_ids) == 1
    assert "ConnectionRefusedError" in row.traceback
    assert row.run_after > timezone.now()  # backoff: not retried at once
    assert run_tasks() == 0

    with smtp_sink() as sink, override_settings(MAILERS={"default": sink.mailer()}):
        with time_machine.travel(row.run_after + timedelta(seconds=1), tick=False):
            assert run_tasks() == 1
        [sent] = sink.messages
    assert sent["To"] == "grace@example.com"
    assert "/invitations/" in sent.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    row.refresh_from_db()
    assert row.status == TaskResultStatus.SUCCESSFUL
    assert len(row.worker_ids) == 2
    assert row.args_kwargs == FORGOTTEN  # the link's token is not kept in the queue
    assert Invitation.objects.unscoped().filter(email="grace@example.com").count() == 1


def test_a_refused_change_enqueues_no_email(db, org, make_key, api):
    key = make_key(Role.OWNER)
    response = api.post(
        "/api/v1/invitations",
        {"email": "not an address", "role": "member"},
        content_type=JSON,
        **bearer(key),
    )
    assert response.status_code == 422
    assert not queued("deliver_email")


def test_a_task_gives_up_after_its_last_attempt_and_says_so(db, caplog):
    with transaction.atomic():
        test_tasks.always_fails.enqueue()
    caplog.set_level(logging.WARNING, logger="kernel.tasks")
    assert run_tasks() == 1
    [row] = queued("always_fails")
    assert row.status == TaskResultStatus.READY
    with time_machine.travel(row.run_after + timedelta(seconds=1), tick=False):
        assert run_tasks() == 1
    row.refresh_from_db()
    assert row.status == TaskResultStatus.FAILED
    assert row.exception_class_path == "builtins.RuntimeError"
    gave_up = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(gave_up) == 1
    assert "gave up after 2 attempts" in gave_up[0].getMessage()


def test_backoff_doubles_and_is_capped():
    policy = RetryPolicy(first_delay=10, max_delay=100)
    delays = [policy.delay(n).total_seconds() for n in (1, 2, 3, 8)]
    assert 5 <= delays[0] <= 10
    assert 10 <= delays[1] <= 20
    assert 20 <= delays[2] <= 40
    assert 50 <= delays[3] <= 100


def test_a_periodic_task_is_enqueued_once_per_period_by_any_number_of_workers(db):
    every = Periodic(test_tasks.tick, every=timedelta(minutes=10))
    first, second = Housekeeper("worker-a", [every]), Housekeeper("worker-b", [every])
    try:
        assert first.schedule() == [every.name]
        assert second.schedule() == []
        assert first.schedule() == []
        with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=False):
            assert second.schedule() == [every.name]
            assert first.schedule() == []
    finally:
        first.close()
        second.close()
    assert len(queued("tick")) == 2


def test_two_workers_cannot_share_an_id(db):
    first = Housekeeper("worker-same", [])
    try:
        with pytest.raises(RuntimeError, match="already runs"):
            Housekeeper("worker-same", [])
    finally:
        first.close()


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return worker_process(env, start_new_session=True)  # its own group, to kill it whole


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.mark.django_db(transaction=True)
def test_a_task_whose_worker_is_killed_mid_run_runs_again_on_restart(tmp_path: Path):
    with transaction.atomic():
        result = test_tasks.crash_once.enqueue(str(tmp_path))
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": _database_url(),
        "TASK_RECOVER_SECONDS": "1",
        "PGAPPNAME": "saas-starter-test-server",
    }
    first = _worker(env)
    try:
        _wait((tmp_path / "started").exists, 60, "the first attempt to start")
        os.killpg(first.pid, signal.SIGKILL)  # mid-task: no chance to record anything
        first.wait(10)
        row = DBTaskResult.objects.get(pk=result.id)
        assert row.status == TaskResultStatus.RUNNING  # what the dead worker left behind

        second = _worker(env)
        try:
            _wait(
                lambda: (
                    DBTaskResult.objects.get(pk=result.id).status == TaskResultStatus.SUCCESSFUL
                ),
                60,
                "the task to run again",
            )
        finally:
            second.terminate()
            second.wait(10)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        _wait_for_sessions_to_end()
    row = DBTaskResult.objects.get(pk=result.id)
    assert len(row.worker_ids) == 2
    assert row.worker_ids[0] != row.worker_ids[1]
    assert (tmp_path / "done").read_text() == "1"  # the work was done once


def test_the_admin_lists_attempts_and_the_last_error_and_can_run_a_task_again(db):
    with transaction.atomic():
        test_tasks.always_fails.enqueue()
    run_tasks()
    [row] = queued("always_fails")
    admin = operator_client()
    page = admin.get("/admin/django_tasks_database/dbtaskresult/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "RuntimeError: the provider is down" in text
    assert '<td class="field-attempts">1</td>' in text
    response = admin.post(
        "/admin/django_tasks_database/dbtaskresult/",
        {"action": "run_again", "_selected_action": [str(row.pk)]},
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.status == TaskResultStatus.READY
    assert row.run_after <= timezone.now()
    assert row.worker_ids == []


def test_staff_without_the_permission_can_neither_see_nor_rerun_tasks(db):
    with transaction.atomic():
        test_tasks.always_fails.enqueue()
    run_tasks()
    [row] = queued("always_fails")
    staff = operator_client()
    User.objects.filter(email="ops@example.com").update(is_superuser=False)
    assert staff.get("/admin/django_tasks_database/dbtaskresult/").status_code == 403
    response = staff.post(
        "/admin/django_tasks_database/dbtaskresult/",
        {"action": "run_again", "_selected_action": [str(row.pk)]},
    )
    assert response.status_code == 403
    row.refresh_from_db()
    assert row.worker_ids != []


@pytest.mark.django_db(transaction=True)
def test_the_worker_keeps_running_through_a_postgresql_restart(tmp_path: Path):
    if database_address() is None:
        pytest.skip("the embedded database is reached through a socket, not TCP")

    def enqueue_touch(postgres, name: str) -> Path:
        path = tmp_path / name
        postgres.manage(
            "shell", "-c", f"from tests.tenant_app.tasks import touch; touch.enqueue({str(path)!r})"
        )
        return path

    with private_postgres() as postgres:
        worker = _worker({**os.environ, "DEBUG": "true", "DATABASE_URL": postgres.url})
        try:
            before = enqueue_touch(postgres, "before")
            _wait(before.exists, 30, "a task before the restart")
            postgres.stop()
            time.sleep(1.5)  # the worker meets a dead connection meanwhile
            postgres.start()
            after = enqueue_touch(postgres, "after")
            _wait(after.exists, 60, "a task after the restart")
            assert worker.poll() is None  # the same worker process
        finally:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)

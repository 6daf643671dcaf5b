"""Running the task queue in tests: for real, against PostgreSQL, in this process."""

from __future__ import annotations

from django.core import mail
from django.core.mail import EmailMessage
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from kernel.worker import Worker

TEST_WORKER_ID = "test-worker"


def run_tasks(*, limit: int = 200) -> int:
    """Run every task that is ready now (those a retry pushed into the future wait, as
    they would: move the clock to reach them), including those the tasks enqueue.
    Returns how many ran. Works inside a test's transaction, unlike the worker's loop
    (which closes connections it finds inside a transaction)."""
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=TEST_WORKER_ID,
        excluded_queue_names=[],
    )
    ran = 0
    while ran < limit:
        with transaction.atomic():
            row = DBTaskResult.objects.ready().select_for_update(skip_locked=True).first()
            if row is None:
                return ran
            row.claim(TEST_WORKER_ID)
        worker.run_task(row)
        ran += 1
    raise AssertionError(f"run_tasks stopped after {limit} tasks: is a task re-enqueueing itself?")


def sent_mail() -> list[EmailMessage]:
    """Django's test outbox, once the queue has delivered every email waiting in it."""
    run_tasks()
    return list(mail.outbox)


def queued_tasks(task_path_end: str) -> list[DBTaskResult]:
    """Tasks waiting in the queue whose path ends so (`send_notification_emails`)."""
    return [row for row in DBTaskResult.objects.ready() if row.task_path.endswith(task_path_end)]

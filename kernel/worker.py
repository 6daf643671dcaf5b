"""The task worker: django-tasks-db's, plus retries, crash recovery and periodic tasks.

django-tasks-db claims a ready row (`SELECT … FOR UPDATE SKIP LOCKED`), marks it running
and calls the task. On top of it:

- **Retries** (`Worker.run_task`): a failed attempt goes back to ready with `run_after`
  pushed out by the task's `RetryPolicy`; the row keeps the attempts (its worker ids) and
  the last error, for the admin. After the last attempt it is failed for good and logged
  at ERROR, which is what alerts (Sentry, the log pipeline) listen for.
- **Crash recovery** (`Housekeeper.recover`): each serving worker holds a session advisory
  lock named after its id for as long as it lives. A running row whose worker's lock can
  be taken belongs to a dead process: it goes back to ready (that attempt counted).
- **Periodic tasks** (`Housekeeper.schedule`): each manifest's `Periodic` has a row in
  `kernel_periodicturn`; the worker whose UPDATE moves its due time forward enqueues it,
  in the same transaction, so N workers enqueue it once per period.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from datetime import timedelta
from traceback import format_exception
from typing import Any, Final

import psycopg
from django.db import DatabaseError, close_old_connections, connection, connections, transaction
from django.db.models import Q
from django.tasks import TaskContext, TaskResultStatus
from django.tasks.signals import task_finished, task_started
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker as QueueWorker
from django_tasks_db.models import DBTaskResult

from kernel.change_capture import database_conninfo
from kernel.logcontext import log_context
from kernel.models import PeriodicTurn
from kernel.tasks import Periodic, policy_for

logger = logging.getLogger("kernel.tasks")

LOCK_NAMESPACE: Final = "kernel.worker"
"""With the worker id, names the advisory lock a live worker holds (two int4 keys)."""
FORGOTTEN: Final[dict[str, Any]] = {"args": [], "kwargs": {}}


class Worker(QueueWorker):
    def run_task(self, db_task_result: DBTaskResult[Any, Any]) -> None:
        # Every line the task logs (and its error reports) names it (kernel/logcontext.py).
        with log_context(task=db_task_result.task_path, task_id=str(db_task_result.pk)):
            self._run_task(db_task_result)

    def _run_task(self, db_task_result: DBTaskResult[Any, Any]) -> None:
        """django-tasks-db's run_task, with a failure retried while attempts remain."""
        self.running_task = True
        try:
            task = db_task_result.task
            task_result = db_task_result.task_result
            task_started.send(sender=type(task.get_backend()), task_result=task_result)
            if task.takes_context:
                value = task.call(
                    TaskContext(task_result=task_result), *task_result.args, **task_result.kwargs
                )
            else:
                value = task.call(*task_result.args, **task_result.kwargs)
            db_task_result.set_successful(value)
            if policy_for(db_task_result.task_path).forget_arguments:
                DBTaskResult.objects.filter(pk=db_task_result.pk).update(args_kwargs=FORGOTTEN)
            task_finished.send(
                sender=type(task.get_backend()), task_result=db_task_result.task_result
            )
        except BaseException as error:
            failed(db_task_result, error)
            if isinstance(error, (KeyboardInterrupt, SystemExit)):
                raise
        finally:
            self.running_task = False
            self._run_tasks += 1


def failed(row: DBTaskResult[Any, Any], error: BaseException) -> None:
    """Schedule the next attempt, or fail the task for good after its last."""
    policy = policy_for(row.task_path)
    attempts = len(row.worker_ids)
    if attempts < policy.max_attempts:
        retry_at = timezone.now() + policy.delay(attempts)
        DBTaskResult.objects.filter(pk=row.pk).update(
            status=TaskResultStatus.READY,
            run_after=retry_at,
            exception_class_path=f"{type(error).__module__}.{type(error).__qualname__}",
            traceback=_traceback(error),
        )
        logger.warning(
            "Task %s (%s) failed on attempt %d of %d; retrying at %s: %r",
            row.task_path,
            row.pk,
            attempts,
            policy.max_attempts,
            retry_at.isoformat(timespec="seconds"),
            error,
        )
        return
    row.set_failed(error)
    logger.error(
        "Task %s (%s) gave up after %d attempts",
        row.task_path,
        row.pk,
        attempts,
        exc_info=error,
    )


def _traceback(error: BaseException) -> str:
    return "".join(format_exception(error))


class WorkerDied(Exception):
    """Recorded as the last error of a task whose worker process stopped mid-run."""


class Housekeeper:
    """What a serving worker does besides running tasks: proving it is alive, putting
    back the tasks of workers that died, and enqueueing periodic tasks when due."""

    def __init__(self, worker_id: str, periodic: list[Periodic]) -> None:
        self.worker_id = worker_id
        self.periodic = periodic
        # Django does not manage this connection: a pooled one would be handed to others
        # with the lock still held, or closed under it.
        self.session = psycopg.connect(database_conninfo(), autocommit=True)
        if not self._try_lock(worker_id):
            raise RuntimeError(f"Another worker already runs with the id {worker_id!r}.")

    def ensure_session(self) -> None:
        """After PostgreSQL restarted, reconnect and take our lock again: without it the
        other workers would take this one's running task for an orphan."""
        if not self.session.closed and not self.session.broken:
            return
        self.session = psycopg.connect(database_conninfo(), autocommit=True)
        self._try_lock(self.worker_id)

    def _try_lock(self, worker_id: str) -> bool:
        row = self.session.execute(
            "SELECT pg_try_advisory_lock(hashtext(%s), hashtext(%s))",
            (LOCK_NAMESPACE, worker_id),
        ).fetchone()
        return bool(row and row[0])

    def _alive(self, worker_id: str) -> bool:
        if worker_id == self.worker_id:
            return True
        if not self._try_lock(worker_id):
            return True  # another session holds it: that worker is running
        self.session.execute(
            "SELECT pg_advisory_unlock(hashtext(%s), hashtext(%s))", (LOCK_NAMESPACE, worker_id)
        )
        return False

    def recover(self, *, own: bool = False) -> int:
        """Put back every running task whose worker is gone (`own`: and this worker's, when
        it lost the database while running one). Returns how many."""
        running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING)
        orphans = [
            row
            for row in running
            if not row.worker_ids
            or (own and row.worker_ids[-1] == self.worker_id)
            or not self._alive(row.worker_ids[-1])
        ]
        for row in orphans:
            worker = row.worker_ids[-1] if row.worker_ids else "?"
            with transaction.atomic():
                # Only if it is still the same attempt: another worker may have recovered it.
                current = (
                    DBTaskResult.objects.select_for_update()
                    .filter(pk=row.pk, status=TaskResultStatus.RUNNING)
                    .first()
                )
                if current is None or current.worker_ids != row.worker_ids:
                    continue
                failed(current, WorkerDied(f"Worker {worker} stopped while running this task."))
        return len(orphans)

    def schedule(self) -> list[str]:
        """Enqueue the periodic tasks whose turn has come. Returns their names."""
        now = timezone.now()
        PeriodicTurn.objects.bulk_create(
            [PeriodicTurn(name=p.name, due_at=now) for p in self.periodic], ignore_conflicts=True
        )
        enqueued = []
        for periodic in self.periodic:
            with transaction.atomic():
                claimed = PeriodicTurn.objects.filter(
                    Q(due_at__lte=now), name=periodic.name
                ).update(due_at=now + periodic.every)
                if claimed:
                    periodic.task.enqueue()
                    enqueued.append(periodic.name)
        return enqueued

    def close(self) -> None:
        self.session.close()


class ServingWorker(Worker):
    """`manage.py worker`: the loop of django-tasks-db's worker, with a housekeeping
    thread (recover every `recover_every`, schedule every second)."""

    def __init__(
        self, *, periodic: list[Periodic], recover_every: timedelta, **options: Any
    ) -> None:
        super().__init__(**options)
        self.housekeeper = Housekeeper(self.worker_id, periodic)
        self.recover_every = recover_every.total_seconds()
        self._stopped = threading.Event()

    def run(self) -> None:
        thread = threading.Thread(target=self._housekeep, name="housekeeper", daemon=True)
        thread.start()
        try:
            self._run_through_outages()
        finally:
            self._stopped.set()
            thread.join(timeout=5)
            self.housekeeper.close()

    def _run_through_outages(self) -> None:
        """django-tasks-db's loop, restarted after a lost database instead of exiting: the
        worker waits (with backoff) for PostgreSQL, then puts back the task it was running
        when the connection went, since whether it finished is unknown."""
        pause = 0.5
        while True:
            try:
                super().run()
                return
            except DatabaseError as error:
                logger.warning(
                    "Task worker lost the database (%s); retrying in %.1fs", error, pause
                )
                time.sleep(pause)
                pause = min(pause * 2, 30.0)
                connections.close_all()
                with contextlib.suppress(DatabaseError):
                    self.housekeeper.ensure_session()
                    self.housekeeper.recover(own=True)
                    pause = 0.5

    def _housekeep(self) -> None:
        last_recovery = 0.0
        while not self._stopped.is_set():
            try:
                close_old_connections()
                self.housekeeper.ensure_session()
                if time.monotonic() - last_recovery >= self.recover_every:
                    if recovered := self.housekeeper.recover():
                        logger.warning("Put back %d task(s) of stopped workers", recovered)
                    last_recovery = time.monotonic()
                self.housekeeper.schedule()
            except Exception:
                # A lost database must not stop the worker: the next round tries again.
                logger.exception("Task housekeeping failed; retrying")
            self._stopped.wait(1.0)
        connection.close()

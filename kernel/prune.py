"""Pruning: delete, in short batches, what is kept only for a while.

    prune_all()          # every pruner, {"change records": 12, ...}; `manage.py prune`
    @pruner("webhook events")
    def prune_events(batch: int) -> int: ...   # an app brings its own (billing/prune.py)

The worker runs them as periodic tasks (PERIODIC): change records every five minutes,
since they grow with every write, and everything every hour.

Each pruner deletes `batch` rows per statement, and run from the command or the task
(autocommit) each statement is its own transaction: no DELETE holds locks on a big table
for long, and an interrupted run has deleted whole batches only. What goes, and when
(docs/operations.md):

  * change records (`kernel_change`) whose transaction ended at least
    CHANGE_RETENTION_MINUTES ago — see `prune_changes`;
  * idempotency records older than their replay window (IDEMPOTENCY_TTL_HOURS);
  * notifications read more than NOTIFICATION_RETENTION_DAYS ago (unread ones stay);
  * expired sessions (Django's `clearsessions`), and allauth's per-session rows whose
    session is gone;
  * finished task results: successful ones after TASK_RESULT_RETENTION_DAYS, failed ones
    (given up on) after TASK_FAILED_RETENTION_DAYS. Ready and running tasks stay.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from importlib import import_module
from typing import Any, Final

from django.conf import settings
from django.db import connection
from django.db.models import Exists, Model, OuterRef, QuerySet
from django.utils import timezone

from kernel.models import Change, ChangeHorizon, IdempotencyRecord, Notification
from kernel.tasks import Periodic, durable

logger = logging.getLogger(__name__)

Pruner = Callable[[int], int]
"""Deletes what has expired, `batch` rows at a time; returns how many rows went."""

PRUNERS: dict[str, Pruner] = {}
"""What each pruner deletes ("change records") → the pruner, in registration order."""


def pruner(what: str) -> Callable[[Pruner], Pruner]:
    """Register a pruner under the words the reports use (`prune_all`, the command)."""

    def register(function: Pruner) -> Pruner:
        PRUNERS[what] = function
        return function

    return register


def prune_all(batch: int | None = None) -> dict[str, int]:
    """Run every pruner; how many rows each deleted. One pruner failing does not stop the
    others: it is logged and raised once they have run."""
    size = batch or settings.PRUNE_BATCH_SIZE
    counts: dict[str, int] = {}
    failed: list[BaseException] = []
    for what, prune in PRUNERS.items():
        try:
            counts[what] = prune(size)
        except Exception as error:
            logger.exception("prune: deleting %s failed", what)
            failed.append(error)
    if failed:
        raise failed[0]
    return counts


def delete_in_batches(rows: QuerySet[Any], batch: int) -> int:
    """Delete every row of `rows`, `batch` at a time. Each batch re-applies the filter, so a
    row that changed since it was picked (an event reprocessed) is not deleted."""
    deleted = 0
    while True:
        # Unordered: the planner picks the cheapest index (expiry, transaction id).
        keys = list(rows.order_by().values_list("pk", flat=True)[:batch])
        if not keys:
            return deleted
        _, per_model = rows.filter(pk__in=keys).delete()
        deleted += per_model.get(rows.model._meta.label, 0)
        if len(keys) < batch:
            return deleted


@pruner("change records")
def prune_changes(batch: int) -> int:
    """Delete change records whose transaction ended at least CHANGE_RETENTION_MINUTES ago.

    A poller (LIVE_CHANGES=poll, kernel/live/listener.py) reads the rows of transactions
    at or above the xmin of its previous poll, one LIVE_POLL_MS ago; a listener that lost
    its connection re-runs everything when it is back. So only rows of transactions that
    ended moments ago are still needed. A row's `created_at` is when it was written, not
    committed: a transaction open for an hour commits rows already an hour "old".
    Each run therefore records a horizon — the oldest transaction still running — and
    deletes only rows below a horizon recorded at least the retention ago: those
    transactions had ended by then. The first run only records (nothing is old enough)."""
    keep = timedelta(minutes=settings.CHANGE_RETENTION_MINUTES)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO kernel_change_horizon (taken_at, oldest_running) "
            "VALUES (clock_timestamp(), pg_snapshot_xmin(pg_current_snapshot())::text::bigint)"
        )
    horizon = (
        ChangeHorizon.objects.filter(taken_at__lte=timezone.now() - keep)
        .order_by("-taken_at")
        .first()
    )
    if horizon is None:
        return 0
    ChangeHorizon.objects.filter(taken_at__lt=horizon.taken_at).delete()
    return delete_in_batches(Change.objects.filter(xid__lt=horizon.oldest_running), batch)


def idempotency_ttl() -> timedelta:
    """How long a mutation's result is replayed to a repeat with the same key."""
    return timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)


@pruner("idempotency records")
def prune_idempotency_records(batch: int) -> int:
    expired = IdempotencyRecord.objects.filter(created_at__lte=timezone.now() - idempotency_ttl())
    return delete_in_batches(expired, batch)


@pruner("read notifications")
def prune_notifications(batch: int) -> int:
    cutoff = timezone.now() - timedelta(days=settings.NOTIFICATION_RETENTION_DAYS)
    return delete_in_batches(Notification.objects.filter(read_at__lt=cutoff), batch)


@pruner("expired sessions")
def prune_sessions(batch: int) -> int:
    """What `clearsessions` does, in batches for database sessions; other engines clear
    their own way (a cache expires its keys)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(store, "get_model_class"):
        try:
            store.clear_expired()
        except NotImplementedError:
            logger.warning("prune: %s cannot clear expired sessions", settings.SESSION_ENGINE)
        return 0
    sessions: type[Model] = store.get_model_class()
    expired = sessions._default_manager.filter(expire_date__lt=timezone.now())
    return delete_in_batches(expired, batch)


@pruner("user sessions")
def prune_user_sessions(batch: int) -> int:
    """allauth's row per session (device, address, last seen) outlives an expired
    session: delete those whose session is gone (database sessions only)."""
    from django.apps import apps

    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not apps.is_installed("allauth.usersessions") or not hasattr(store, "get_model_class"):
        return 0
    from allauth.usersessions.models import UserSession

    sessions: type[Model] = store.get_model_class()
    alive = sessions._default_manager.filter(session_key=OuterRef("session_key"))
    return delete_in_batches(UserSession.objects.filter(~Exists(alive)), batch)


@pruner("task results")
def prune_task_results(batch: int) -> int:
    """Finished tasks, as django-tasks-db's `prune_db_task_results` selects them (by
    `finished_at`), in batches: successful ones and failed ones each after their days."""
    from django.tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    successful = DBTaskResult.objects.filter(
        status=TaskResultStatus.SUCCESSFUL,
        finished_at__lte=now - timedelta(days=settings.TASK_RESULT_RETENTION_DAYS),
    )
    failed = DBTaskResult.objects.filter(
        status=TaskResultStatus.FAILED,
        finished_at__lte=now - timedelta(days=settings.TASK_FAILED_RETENTION_DAYS),
    )
    return delete_in_batches(successful, batch) + delete_in_batches(failed, batch)


# --- as tasks -----------------------------------------------------------------------------


@durable(max_attempts=3)
def prune_everything() -> dict[str, int]:
    """Every pruner; the counts are the task's result (the admin shows them)."""
    return prune_all()


@durable(max_attempts=3)
def prune_change_records() -> int:
    return prune_changes(settings.PRUNE_BATCH_SIZE)


PERIODIC: Final = (
    Periodic(prune_change_records, every=timedelta(minutes=5)),
    Periodic(prune_everything, every=timedelta(hours=1)),
)
"""The kernel's periodic tasks (it has no manifest): `kernel.manifest.periodic_tasks`."""

"""The mutation runner: a write in one SERIALIZABLE transaction, retried on conflicts.
The door (kernel/door.py) runs every registered mutation in it.

PostgreSQL aborts one of two transactions whose reads and writes could not have run one
after the other (SQLSTATE 40001) or that deadlock (40P01). Those are safe to retry from
the start, so a mutation is re-run with bounded, jittered exponential backoff. Business
rules checked inside ("not the last owner", seat limits) therefore hold under concurrency.

Side effects are tasks enqueued inside the mutation (kernel/tasks.py): a task is a row,
so a failed attempt's tasks are discarded with its rollback and the committed attempt's
run once it commits.

A mutation must be the outermost transaction (it sets the isolation level). Called from
inside another mutation it joins that transaction; inside any other atomic block it
refuses, because it could neither be serializable nor retried. Django's TestCase
transaction is the one exception, so tests can use the `db` fixture.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Final

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.utils.translation import gettext as _
from psycopg import IsolationLevel

from kernel import errors

logger = logging.getLogger(__name__)

RETRYABLE_SQLSTATES: Final = frozenset({"40001", "40P01"})  # serialization failure, deadlock
DEFAULT_ATTEMPTS: Final = 5
BASE_DELAY: Final = 0.01
MAX_DELAY: Final = 0.5

_in_mutation: ContextVar[bool] = ContextVar("in_mutation", default=False)


def in_mutation() -> bool:
    """Inside a mutation's transaction (a nested call joins it)."""
    return _in_mutation.get()


class MutationNestingError(RuntimeError):
    """A mutation was called inside a transaction it does not control."""


class Collided(Exception):
    """Raised inside a mutation when a concurrent one got there first (e.g. the same
    idempotency key): the attempt is rolled back and retried like a serialization failure."""


def is_retryable(error: BaseException) -> bool:
    if isinstance(error, Collided):
        return True
    cause = error.__cause__
    return getattr(cause, "sqlstate", None) in RETRYABLE_SQLSTATES


def backoff_delay(attempt: int, *, base: float = BASE_DELAY, cap: float = MAX_DELAY) -> float:
    """'Full jitter': uniform in [0, min(cap, base * 2**attempt)]."""
    return random.uniform(0, min(cap, base * 2**attempt))  # noqa: S311  (not for secrets)


def only_test_transactions(using: str) -> bool:
    blocks = connections[using].atomic_blocks
    return bool(blocks) and all(getattr(block, "_from_testcase", False) for block in blocks)


def serializable[R](
    call: Callable[[], R],
    *,
    name: str,
    attempts: int = DEFAULT_ATTEMPTS,
    using: str = DEFAULT_DB_ALIAS,
) -> R:
    """Run `call` as a mutation: the outermost SERIALIZABLE transaction, retried on
    conflicts; inside another mutation it joins that one's transaction."""
    if connections[using].in_atomic_block:
        if _in_mutation.get():
            return call()
        if only_test_transactions(using):
            with transaction.atomic(using=using):
                return call()
        raise MutationNestingError(
            f"{name} is a mutation and must run outside any transaction "
            "(it sets SERIALIZABLE isolation and may retry)."
        )
    return _run_serializable(call, name=name, attempts=attempts, using=using)


@contextmanager
def _begun_serializable(using: str) -> Iterator[None]:
    """Transactions opened meanwhile begin `BEGIN ISOLATION LEVEL SERIALIZABLE`: psycopg
    sends it with the first statement, one round trip fewer than BEGIN followed by
    SET TRANSACTION (of about eight in a create)."""
    database = connections[using]
    database.ensure_connection()
    raw = database.connection
    previous = raw.isolation_level
    raw.isolation_level = IsolationLevel.SERIALIZABLE
    try:
        yield
    finally:
        if not raw.closed:  # a lost connection is replaced with the default level
            raw.isolation_level = previous


def _run_serializable[R](call: Callable[[], R], *, name: str, attempts: int, using: str) -> R:
    token = _in_mutation.set(True)
    try:
        for attempt in range(1, attempts + 1):
            try:
                with _begun_serializable(using), transaction.atomic(using=using):
                    return call()
            except (DatabaseError, Collided) as error:
                if not is_retryable(error):
                    raise
                if attempt == attempts:
                    logger.warning("%s gave up after %d attempts", name, attempts)
                    raise errors.conflict(
                        _(
                            "This change collided with other changes made at the same time. "
                            "Please try again."
                        )
                    ) from error
                delay = backoff_delay(attempt)
                logger.info(
                    "%s: attempt %d conflicted (%s); retrying in %.3fs",
                    name,
                    attempt,
                    getattr(error.__cause__, "sqlstate", "?"),
                    delay,
                )
                time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover
    finally:
        _in_mutation.reset(token)

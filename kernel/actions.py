"""Actions: code with side effects outside the database (a payment provider, email).

An action never holds a transaction open across a network call: it reads through
queries, calls out, then records what happened through mutations. So the door refuses to
run one inside a transaction (Django's TestCase transaction excepted, as for mutations).
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections

from kernel.mutations import only_test_transactions


class ActionInTransactionError(RuntimeError):
    """An action was called inside a transaction; call it after commit instead."""


def require_no_transaction(name: str) -> None:
    database = connections[DEFAULT_DB_ALIAS]
    if database.in_atomic_block and not only_test_transactions(DEFAULT_DB_ALIAS):
        raise ActionInTransactionError(
            f"{name} is an action: call it outside any transaction "
            "(e.g. from a task: kernel/tasks.py)."
        )

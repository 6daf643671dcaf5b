"""@action: code with side effects outside the database (a payment provider, email).

An action never holds a transaction open across a network call: it reads through
queries, calls out, then records what happened through mutations. So it refuses to run
inside a transaction (Django's TestCase transaction excepted, as for mutations)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS, connections

from kernel.mutations import _only_test_transactions


class ActionInTransactionError(RuntimeError):
    """An action was called inside a transaction; call it after commit instead."""


def action[**P, R](function: Callable[P, R], /) -> Callable[P, R]:
    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        database = connections[DEFAULT_DB_ALIAS]
        if database.in_atomic_block and not _only_test_transactions(DEFAULT_DB_ALIAS):
            raise ActionInTransactionError(
                f"{function.__qualname__} is an action: call it outside any transaction "
                "(e.g. from transaction.on_commit)."
            )
        return function(*args, **kwargs)

    return run

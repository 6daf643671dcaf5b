"""Read sets from the SQL a query actually ran, not from a list kept by hand.

    with recording() as tables:
        door.evaluate(query, actor, args)
    tables.tenant      # {"organizations_membership"}: captured per organization
    tables.by_row      # {"accounts_user"}: captured per row

While recording, every statement on the thread's connection passes through an execute
wrapper that picks out the known table names it mentions (Django quotes them; raw SQL
may not). A query that joins people to memberships therefore re-runs when an email
changes, because the join is in its SQL. Tables without change capture are reported in
`uncaptured`: their changes would never reach a subscriber, so the hub logs them and
tests/kernel/test_read_sets.py fails on them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Final

from django.apps import apps
from django.db import connection

from kernel.change_capture import captured_tables, row_captured_tables

_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


@dataclass(frozen=True)
class Tables:
    known: frozenset[str]
    tenant: frozenset[str]
    by_row: frozenset[str]
    by_person: frozenset[str] = frozenset()
    """Captured by row, keyed by their person (`captured_by_row = "user_id"`)."""


@cache
def tables() -> Tables:
    """Every model's table, and how each captured one is; the registry is frozen by now."""
    models = apps.get_models(include_auto_created=True)
    by_row = row_captured_tables(models)
    return Tables(
        frozenset(m._meta.db_table for m in models),
        frozenset(captured_tables(models)),
        frozenset(by_row),
        frozenset(table for table, key in by_row.items() if key.column == "user_id"),
    )


@dataclass
class ReadSet:
    tenant: set[str] = field(default_factory=set)
    """Tenant tables the statements mentioned: a change in the organization re-runs."""
    by_row: set[str] = field(default_factory=set)
    """Tables captured by row: a change to any row re-runs."""
    uncaptured: set[str] = field(default_factory=set)
    """Known tables without change capture: changes to them are not pushed."""

    def record(self, sql: str) -> None:
        known = tables()
        for name in set(_IDENTIFIER.findall(sql)) & known.known:
            if name in known.tenant:
                self.tenant.add(name)
            elif name in known.by_row:
                self.by_row.add(name)
            else:
                self.uncaptured.add(name)


@contextmanager
def recording() -> Iterator[ReadSet]:
    found = ReadSet()

    def wrapper(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        found.record(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield found

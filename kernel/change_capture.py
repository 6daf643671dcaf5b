"""Change capture from the database itself, for live queries.

Every tenant table gets statement-level triggers that, for each INSERT, UPDATE or DELETE
(ORM save, QuerySet.update, bulk operations, the admin, raw SQL alike), record which
organizations' rows of which table changed:

  * a row in `kernel_change` (table, organization, id): the durable record a poller
    reads (LIVE_CHANGES=poll), deleted by `manage.py prune` (kernel/prune.py);
  * `pg_notify('kernel_changes', '<table>:<organization id>')`: the wake-up. PostgreSQL
    delivers it only when the transaction commits, never for a rollback, and folds
    duplicates within one transaction. NOTIFY serializes commits on a global lock, which
    caps concurrent write throughput (docs/performance.md); with LIVE_CHANGES=poll the
    triggers skip it and each process polls `kernel_change` instead.

Tables that belong to no organization but decide what someone sees or may do (people,
organizations, sessions: `captured_by_row = True` on the model, and the session table) are
captured by row instead: `<table>:=<key>` names the changed row (or, with
`captured_by_row = "<column>"`, the row's value there: a person's notifications are
keyed by their user), so a changed email
re-runs the queries that read people, and a deleted session or a deactivated person
re-checks exactly the sockets that depend on that row. Session keys are credentials:
only their SHA-256 leaves the table.

Statement-level triggers with transition tables cost one insert per organization (or
row) per statement, not per row. The triggers are (re)installed after every `migrate`.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

from kernel.tenancy import TenantModel

CHANNEL: Final = "kernel_changes"
ROW_MARK: Final = "="
"""In a notification, `<table>:=<key>` names a row; `<table>:<id>` an organization."""

ChangeKey = tuple[str, int | str]
"""What changed: (table, organization id) for tenant tables, (table, row key) otherwise."""

# One function per transition table (INSERT/UPDATE see the new rows, DELETE the old):
# static, set-based SQL, planned once — about half the cost of a dynamic loop per statement.
_LOG = (
    "INSERT INTO kernel_change (table_name, organization_id) "
    "SELECT DISTINCT TG_TABLE_NAME, organization_id FROM {rows} "
    "WHERE organization_id IS NOT NULL"
)
# The channel name is spelled out in the SQL: it must equal CHANNEL.
_LOG_AND_NOTIFY = (
    "WITH logged AS ({log} RETURNING organization_id) "
    "SELECT count(pg_notify('kernel_changes', TG_TABLE_NAME || ':' || organization_id)) "
    "INTO notified FROM logged"
)
_FUNCTION = """
CREATE OR REPLACE FUNCTION kernel_capture_{rows}() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    notified bigint;
BEGIN
    {body};
    RETURN NULL;
END;
$$;
"""

# Row-captured tables: the key column is the trigger's first argument, read through
# to_jsonb so one static function serves every table; "sha256" as the second argument
# hashes the key (session keys).
_LOG_ROWS = (
    "INSERT INTO kernel_change (table_name, row_key) "
    "SELECT DISTINCT TG_TABLE_NAME, CASE WHEN TG_ARGV[1] = 'sha256' "
    "THEN encode(sha256(convert_to(to_jsonb(r) ->> TG_ARGV[0], 'UTF8')), 'hex') "
    "ELSE to_jsonb(r) ->> TG_ARGV[0] END FROM {rows} r"
)
_LOG_ROWS_AND_NOTIFY = (
    "WITH logged AS ({log} RETURNING row_key) "
    "SELECT count(pg_notify('kernel_changes', TG_TABLE_NAME || ':=' || row_key)) "
    "INTO notified FROM logged"
)

# UPDATE uses the new rows: a tenant row never moves between organizations.
_TRIGGERS: Final = (
    ("ins", "INSERT", "changed_new", "REFERENCING NEW TABLE AS changed_new"),
    ("upd", "UPDATE", "changed_new", "REFERENCING NEW TABLE AS changed_new"),
    ("del", "DELETE", "changed_old", "REFERENCING OLD TABLE AS changed_old"),
)


def function_sql(notify: bool) -> str:
    """The capture functions, with or without the NOTIFY wake-up (settings.LIVE_CHANGES)."""
    functions = []
    for rows in ("changed_new", "changed_old"):
        log = _LOG.format(rows=rows)
        body = _LOG_AND_NOTIFY.format(log=log) if notify else log
        functions.append(_FUNCTION.format(rows=rows, body=body))
        log = _LOG_ROWS.format(rows=rows)
        body = _LOG_ROWS_AND_NOTIFY.format(log=log) if notify else log
        functions.append(_FUNCTION.format(rows=f"rows_{rows}", body=body))
    return "\n".join(functions)


def trigger_statements(table: str, row_key: RowKey | None = None) -> list[str]:
    arguments = "" if row_key is None else f"'{row_key.column}', '{row_key.digest}'"
    prefix = "" if row_key is None else "rows_"
    return [
        f'CREATE OR REPLACE TRIGGER "kernel_change_{suffix}" AFTER {event} ON "{table}" '
        f"{referencing} FOR EACH STATEMENT "
        f"EXECUTE FUNCTION kernel_capture_{prefix}{rows}({arguments})"
        for suffix, event, rows, referencing in _TRIGGERS
    ]


@dataclass(frozen=True)
class RowKey:
    column: str
    digest: str = ""
    """"sha256": only the key's hash is recorded (a credential)."""


def captured_tables(models: Iterable[type[Any]]) -> list[str]:
    """Tenant tables: captured per organization."""
    return sorted(
        model._meta.db_table
        for model in models
        if issubclass(model, TenantModel)
        and not model._meta.abstract
        and not getattr(model, "change_capture_exempt", False)
    )


def session_model() -> type[Any] | None:
    """The model behind SESSION_ENGINE, if sessions are stored in the database."""
    from importlib import import_module

    from django.conf import settings

    store = import_module(settings.SESSION_ENGINE).SessionStore
    return store.get_model_class() if hasattr(store, "get_model_class") else None


def row_captured_tables(models: Iterable[type[Any]]) -> dict[str, RowKey]:
    """Tables captured per row: models marked `captured_by_row` (True: keyed by the
    primary key; a column name: by that column), and the session table."""
    found = {}
    for model in models:
        marked = getattr(model, "captured_by_row", False)
        if marked and not model._meta.abstract:
            column = marked if isinstance(marked, str) else model._meta.pk.column
            found[model._meta.db_table] = RowKey(column)
    sessions = session_model()
    if sessions is not None:
        found[sessions._meta.db_table] = RowKey(sessions._meta.pk.column, "sha256")
    return found


@functools.cache
def people_table() -> str:
    from django.contrib.auth import get_user_model

    return str(get_user_model()._meta.db_table)


@functools.cache
def organizations_table() -> str:
    # On the abstract TenantModel the foreign key still names its model lazily
    # ("organizations.Organization"): resolved through the app registry, else this was ""
    # and no cached actor depended on its organization's row (status, policies).
    from django.apps import apps

    model: Any = TenantModel._meta.get_field("organization").related_model
    if isinstance(model, str):
        model = apps.get_model(model)
    return "" if model is None else str(model._meta.db_table)


@functools.cache
def sessions_table() -> str:
    model = session_model()
    return "" if model is None else str(model._meta.db_table)


def session_row_key(session_key: str) -> str:
    """How a session's row is named in change notifications (and `Authentication`)."""
    return hashlib.sha256(session_key.encode()).hexdigest()


def parse_notification(payload: str) -> ChangeKey | None:
    table, _, rest = payload.rpartition(":")
    if rest.startswith(ROW_MARK):
        return table, rest[1:]
    return (table, int(rest)) if rest.isascii() and rest.isdigit() else None


def install_triggers(
    models: Iterable[type[Any]], using: BaseDatabaseWrapper = connection
) -> list[str]:
    """Create or refresh the capture functions and every captured table's triggers."""
    from django.conf import settings

    models = list(models)
    tables = captured_tables(models)
    by_row = row_captured_tables(models)
    with using.cursor() as cursor:
        cursor.execute(function_sql(notify=settings.LIVE_CHANGES == "notify"))
        for table in tables:
            for statement in trigger_statements(table):
                cursor.execute(statement)
        for table, row_key in by_row.items():
            for statement in trigger_statements(table, row_key):
                cursor.execute(statement)
        cursor.execute("DROP FUNCTION IF EXISTS kernel_capture_change() CASCADE")  # version 1
    return sorted([*tables, *by_row])


def database_conninfo() -> str:
    """Django's default database as a libpq connection string, for connections Django
    does not manage (a LISTEN connection must not come from the pool)."""
    import psycopg

    settings = connection.settings_dict
    options = settings.get("OPTIONS", {})
    passed = {name: options[name] for name in _LIBPQ_OPTIONS if options.get(name)}
    return psycopg.conninfo.make_conninfo(
        dbname=settings["NAME"],
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or options.get("host") or None,
        port=str(settings["PORT"]) if settings["PORT"] else None,
        # A listening connection is idle for long stretches: TCP keepalives notice a
        # peer that vanished (a failover, a NAT dropping it) within about a minute.
        keepalives=1,
        keepalives_idle=30,
        keepalives_interval=10,
        keepalives_count=3,
        **passed,
    )


_LIBPQ_OPTIONS: Final = (
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslcrl",
    "target_session_attrs",
    "options",
)

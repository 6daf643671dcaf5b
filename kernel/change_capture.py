"""Change capture from the database itself, for live queries.

Every tenant table gets statement-level triggers that, for each INSERT, UPDATE or DELETE
(ORM save, QuerySet.update, bulk operations, the admin, raw SQL alike), record which
organizations' rows of which table changed:

  * a row in `kernel_change` (table, organization, id): the durable, pruned record a
    listener catches up from after it may have missed notifications;
  * `pg_notify('kernel_changes', '<table>:<organization id>')`: the wake-up. PostgreSQL
    delivers it only when the transaction commits, never for a rollback, and folds
    duplicates within one transaction. NOTIFY serializes commits on a global lock, which
    caps concurrent write throughput (docs/performance.md); with LIVE_CHANGES=poll the
    triggers skip it and each process polls `kernel_change` instead.

Statement-level triggers with transition tables cost one insert per organization per
statement, not per row. The triggers are (re)installed after every `migrate`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any, Final

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from kernel.tenancy import TenantModel

CHANNEL: Final = "kernel_changes"

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
    return "\n".join(functions)


def trigger_statements(table: str) -> list[str]:
    return [
        f'CREATE OR REPLACE TRIGGER "kernel_change_{suffix}" AFTER {event} ON "{table}" '
        f"{referencing} FOR EACH STATEMENT EXECUTE FUNCTION kernel_capture_{rows}()"
        for suffix, event, rows, referencing in _TRIGGERS
    ]


def captured_tables(models: Iterable[type[Any]]) -> list[str]:
    return sorted(
        model._meta.db_table
        for model in models
        if issubclass(model, TenantModel)
        and not model._meta.abstract
        and not getattr(model, "change_capture_exempt", False)
    )


def install_triggers(
    models: Iterable[type[Any]], using: BaseDatabaseWrapper = connection
) -> list[str]:
    """Create or refresh the capture function and every tenant table's triggers."""
    from django.conf import settings

    tables = captured_tables(models)
    with using.cursor() as cursor:
        cursor.execute(function_sql(notify=settings.LIVE_CHANGES == "notify"))
        for table in tables:
            for statement in trigger_statements(table):
                cursor.execute(statement)
        cursor.execute("DROP FUNCTION IF EXISTS kernel_capture_change() CASCADE")  # version 1
    return tables


def prune_changes(keep: timedelta = timedelta(hours=1)) -> int:
    """Delete change records older than `keep`; returns how many went."""
    from kernel.models import Change

    deleted, _ = Change.objects.filter(created_at__lt=timezone.now() - keep).delete()
    return deleted


def database_conninfo() -> str:
    """Django's default database as a libpq connection string, for connections Django
    does not manage (a LISTEN connection must not come from the pool)."""
    import psycopg

    settings = connection.settings_dict
    options = settings.get("OPTIONS", {})
    return psycopg.conninfo.make_conninfo(
        dbname=settings["NAME"],
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or options.get("host") or None,
        port=str(settings["PORT"]) if settings["PORT"] else None,
    )

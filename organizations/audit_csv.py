"""The audit log as CSV: the rows of `audit.list` pages, written as they are read."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from kernel.door import call
from organizations import queries
from organizations.schemas import AuditEventOut, AuditPageOut

COLUMNS = (
    "time",
    "actor",
    "actor_label",
    "operator",
    "api_key_id",
    "action",
    "summary",
    "target",
    "target_type",
    "target_id",
    "result",
    "reason",
    "permission",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Line:
    """csv.writer's file: hands back each line instead of storing it."""

    def write(self, line: str) -> str:
        return line


def cell(value: object) -> str:
    """A value a spreadsheet shows as text: one that starts like a formula is quoted
    with an apostrophe (an attacker's `=HYPERLINK(...)` in a record title stays text)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _row(event: AuditEventOut) -> list[str]:
    summary = event.summary[:1].upper() + event.summary[1:]
    values: dict[str, Any] = {
        **event.model_dump(include=set(COLUMNS)),
        "time": timezone.localtime(event.created_at).isoformat(),
        "actor": event.actor_name,
        "operator": event.operator_label,
        "summary": summary,
    }
    return [cell(values[column]) for column in COLUMNS]


def audit_csv_rows(
    request: HttpRequest, filters: dict[str, Any], first: AuditPageOut
) -> Iterator[str]:
    """The header, then every event matching `filters`, page after page (each through
    the door, as the reader: their permission, their organization)."""
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow(COLUMNS)  # the BOM: spreadsheets read it as UTF-8
    page = first
    while True:
        for event in page.events:
            yield writer.writerow(_row(event))
        if page.next_before is None:
            return
        page = call(queries.audit_list, request, {**filters, "before": page.next_before})

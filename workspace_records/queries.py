"""Reads of workspace records, registered with the kernel. Each reads the actor's
organization only."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from kernel import errors
from kernel.actor import Actor
from kernel.functions import query
from kernel.tenancy import get_for_actor
from workspace_records.models import RecordStatus, WorkspaceRecord
from workspace_records.schemas import (
    RecordFilters,
    RecordOrder,
    RecordOut,
    RecordPageOut,
    RecordRef,
)

LIST_FIELDS = (
    "id",
    "title",
    "status",
    "body",
    "version",
    "created_by_id",
    "created_at",
    "updated_at",
)
Row = dict[str, Any]


@dataclass(frozen=True)
class RecordPage:
    records: list[Row]
    """Plain rows (LIST_FIELDS): lists need no model instances."""
    next_cursor: str | None


def _encode_cursor(record: Row) -> str:
    raw = f"{record['created_at'].isoformat()}|{record['id']}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, pk = raw.split("|")
        return datetime.fromisoformat(created_at), int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise errors.invalid_input(fields={"cursor": [_("This cursor is not valid.")]}) from None


@query(
    "records.list",
    permission="workspace.records.read",
    output=RecordPageOut,
    live=True,
    varies_by="permissions",
)
def record_list(*, actor: Actor, args: RecordFilters) -> RecordPage:
    """Keyset (cursor) pagination on (created_at, id), so pages stay stable while records
    are being added."""
    records: QuerySet[WorkspaceRecord] = WorkspaceRecord.objects.for_actor(actor)
    if args.status:
        records = records.filter(status=args.status)
    if args.search and args.search.strip():
        records = records.filter(title__icontains=args.search.strip())
    newest = args.order == RecordOrder.NEWEST
    if args.cursor:
        created_at, pk = _decode_cursor(args.cursor)
        # The redundant bound (created_at <= c) is what lets PostgreSQL start the index
        # scan at the cursor: with the OR alone it reads every row before it and filters
        # them out (a page deep in a large organization went from ~100 ms to ~0.1 ms).
        if newest:
            after = Q(created_at__lte=created_at) & (
                Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk)
            )
        else:
            after = Q(created_at__gte=created_at) & (
                Q(created_at__gt=created_at) | Q(created_at=created_at, pk__gt=pk)
            )
        records = records.filter(after)
    records = records.order_by(*(("-created_at", "-id") if newest else ("created_at", "id")))
    page = list(records.values(*LIST_FIELDS)[: args.limit + 1])
    more = len(page) > args.limit
    page = page[: args.limit]
    return RecordPage(page, _encode_cursor(page[-1]) if more and page else None)


@query("records.get", permission="workspace.records.read", output=RecordOut)
def record_get(*, actor: Actor, args: RecordRef) -> WorkspaceRecord:
    """Another organization's record is `not_found`, like a missing one."""
    return get_for_actor(
        WorkspaceRecord, args.record_id, actor, message=_("There is no such record.")
    )


__all__ = ["RecordStatus", "record_get", "record_list"]

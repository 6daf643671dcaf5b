"""Reads of workspace records. Each begins with its permission check and reads the
actor's organization only."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.db.models import Q, QuerySet

from kernel import errors
from kernel.actor import Actor
from kernel.guard import require_app_permission
from kernel.text import storable_or_error
from workspace_records.models import RecordStatus, WorkspaceRecord

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


class RecordOrder(StrEnum):
    NEWEST = "newest"
    OLDEST = "oldest"


LIST_FIELDS = ("id", "title", "status", "body", "created_by_id", "created_at", "updated_at")
Row = dict[str, Any]


@dataclass(frozen=True)
class RecordPage:
    records: list[Row]
    """Plain rows (LIST_FIELDS plus `status_label`): lists need no model instances."""
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
        raise errors.invalid_input(fields={"cursor": ["This cursor is not valid."]}) from None


def record_list(
    *,
    actor: Actor,
    status: RecordStatus | None = None,
    search: str | None = None,
    order: RecordOrder = RecordOrder.NEWEST,
    cursor: str | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
) -> RecordPage:
    """Permission: workspace.records.read. Keyset (cursor) pagination on (created_at, id),
    so pages stay stable while records are being added."""
    require_app_permission(actor, "workspace.records.read")
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    records: QuerySet[WorkspaceRecord] = WorkspaceRecord.objects.for_actor(actor)
    if status:
        records = records.filter(status=status)
    if search:
        records = records.filter(title__icontains=storable_or_error(search, "search").strip())
    newest = order == RecordOrder.NEWEST
    if cursor:
        created_at, pk = _decode_cursor(cursor)
        if newest:
            after = Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk)
        else:
            after = Q(created_at__gt=created_at) | Q(created_at=created_at, pk__gt=pk)
        records = records.filter(after)
    records = records.order_by(*(("-created_at", "-id") if newest else ("created_at", "id")))
    page = list(records.values(*LIST_FIELDS)[: limit + 1])
    labels = dict(RecordStatus.choices)
    for row in page:
        row["status_label"] = labels.get(row["status"], row["status"])
    more = len(page) > limit
    page = page[:limit]
    return RecordPage(page, _encode_cursor(page[-1]) if more and page else None)


def record_get(*, actor: Actor, record_id: int) -> WorkspaceRecord:
    """Permission: workspace.records.read. Another organization's record is `not_found`."""
    require_app_permission(actor, "workspace.records.read")
    try:
        return WorkspaceRecord.objects.for_actor(actor).get(pk=record_id)
    except WorkspaceRecord.DoesNotExist:
        raise errors.not_found("There is no such record.") from None

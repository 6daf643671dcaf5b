"""The records list as a live query (subscribe as `records.list`)."""

from __future__ import annotations

from typing import Any

from kernel.actor import Actor
from kernel.live.registry import live_query, socket_mutation
from workspace_records import mutations, queries
from workspace_records.models import RecordStatus, WorkspaceRecord
from workspace_records.schemas import RecordOut, RecordPageOut


@live_query("records.list", reads=(WorkspaceRecord._meta.db_table,), varies_by="permissions")
def records_list(*, actor: Actor, status: str | None = None, search: str | None = None) -> Any:
    page = queries.record_list(
        actor=actor,
        status=RecordStatus(status) if status in RecordStatus.values else None,
        search=search,
    )
    return RecordPageOut.model_validate(
        {"records": page.records, "next_cursor": page.next_cursor}
    ).model_dump(mode="json")


@socket_mutation("records.create")
def records_create(*, actor: Actor, title: str = "", body: str = "", status: str = "open") -> Any:
    record = mutations.record_create(actor=actor, title=title, body=body, status=status)
    return RecordOut.model_validate(record, from_attributes=True).model_dump(mode="json")

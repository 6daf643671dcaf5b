from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field

from workspace_records.models import RecordStatus
from workspace_records.validation import RecordBody, RecordTitle


class RecordOut(BaseModel):
    # Plain pydantic, not a ninja Schema: validating the list's rows (plain dicts) then
    # runs entirely in pydantic-core, several times faster than ninja's per-attribute
    # getter; model instances are still read by attribute.
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    status: RecordStatus
    body: str
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime


class RecordPageOut(BaseModel):
    records: list[RecordOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")


class RecordIn(Schema):
    title: RecordTitle
    body: RecordBody = ""
    status: RecordStatus = RecordStatus.OPEN


class RecordPatch(Schema):
    title: RecordTitle | None = None
    body: RecordBody | None = None
    status: RecordStatus | None = None

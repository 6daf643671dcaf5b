from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import Field

from workspace_records.models import RecordStatus
from workspace_records.validation import RecordBody, RecordTitle


class RecordOut(Schema):
    id: int
    title: str
    status: RecordStatus
    body: str
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime


class RecordPageOut(Schema):
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

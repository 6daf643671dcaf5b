"""Inputs and outputs of the records functions: one model per function, used by the
pages, the API and the socket alike."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Final

from django.utils.translation import gettext_noop
from pydantic import BaseModel, ConfigDict, Field

from kernel.inputs import Input, Name, Text
from workspace_records.models import RecordStatus

TITLE_MAX: Final = 200
BODY_MAX: Final = 20_000
SEARCH_MAX: Final = 200
DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 100

RecordTitle = Annotated[str, Name(max_length=TITLE_MAX)]
RecordBody = Annotated[str, Text(max_length=BODY_MAX)]


class RecordOrder(StrEnum):
    NEWEST = "newest"
    OLDEST = "oldest"


class RecordOut(BaseModel):
    # Plain pydantic, not a ninja Schema: validating the list's rows (plain dicts) then
    # runs entirely in pydantic-core, several times faster than ninja's per-attribute
    # getter; model instances are still read by attribute.
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    status: RecordStatus
    body: str
    version: int = Field(description="Send it back (If-Match or `version`) to edit")
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime


class RecordPageOut(BaseModel):
    records: list[RecordOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")


class RecordFilters(Input):
    # Titles: what the filter form's summary calls them (kernel/pages.py `label_of`).
    status: RecordStatus | None = Field(None, title=gettext_noop("Status"))
    search: Annotated[str, Text(max_length=SEARCH_MAX)] | None = Field(
        None, title=gettext_noop("Search")
    )
    order: RecordOrder = Field(RecordOrder.NEWEST, title=gettext_noop("Order"))
    cursor: Annotated[str, Text(max_length=200)] | None = Field(
        None, title=gettext_noop("Page link")
    )
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


class RecordRef(Input):
    record_id: int


class RecordCreate(Input):
    title: RecordTitle
    body: RecordBody = ""
    status: RecordStatus = RecordStatus.OPEN


class RecordUpdate(Input):
    """Only the fields given change. `version` is the one the edit started from: a stale
    edit is a `conflict`, never a silent overwrite of someone else's change."""

    record_id: int
    version: int = Field(ge=1)
    title: RecordTitle | None = None
    body: RecordBody | None = None
    status: RecordStatus | None = None

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from kernel.inputs import Input, Name

Title = Annotated[str, Name(max_length=80)]


class NoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    body: str
    version: int
    created_at: datetime


class NoteCreate(Input):
    title: Title


class NoteRef(Input):
    note_id: int


class NoteUpdate(Input):
    note_id: int
    version: int = Field(ge=1)
    title: Title


class NoteFilters(Input):
    contains: str | None = None

"""Inputs and outputs of the ${label} functions: one model per function, used by the
pages, the API and the socket alike."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from kernel.inputs import Input, Name, Text

ItemName = Annotated[str, Name(max_length=200)]
ItemNotes = Annotated[str, Text(max_length=20_000)]


class ${model}Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    notes: str
    version: int = Field(description="Send it back (If-Match or `version`) to edit")
    created_at: datetime


class ${model}Filters(Input):
    search: Annotated[str, Text(max_length=200)] | None = None


class ${model}Ref(Input):
    ${ref}: int


class ${model}Create(Input):
    name: ItemName
    notes: ItemNotes = ""


class ${model}Update(Input):
    """Only the fields given change; `version` is the one the edit started from."""

    ${ref}: int
    version: int = Field(ge=1)
    name: ItemName | None = None
    notes: ItemNotes | None = None

"""Inputs and outputs of the data export functions (organizations/exports.py)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from kernel.inputs import Input
from organizations.schemas import Output


class DataExportOut(Output):
    id: int
    kind: str = Field(description="organization, or account")
    status: str = Field(description="pending, ready, failed or expired")
    requested_by: str = Field(description="Who asked for it, as recorded then")
    created_at: datetime
    ready_at: datetime | None
    expires_at: datetime | None = Field(description="When the file and its link go")
    size: int = Field(description="The ZIP's size in bytes (0 until ready)")
    counts: dict[str, int] = Field(description="Rows per table")
    download_url: str | None = Field(
        description="While ready: the signed link (it works in a signed-in browser session "
        "of a member allowed to export, or of the person, for an account export)"
    )
    download_path: str | None = Field(description="The same link, without the site's address")


class ExportLink(Input):
    token: str = Field(max_length=200)


class ExportRef(Input):
    export_id: int


class ExportFile(Output):
    """What the download view streams."""

    id: int
    name: str
    filename: str

"""The record title rule, shared by the page forms, API schemas and socket calls."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from kernel import errors

TITLE_MAX = 200


def clean_title(value: str) -> str:
    """Trimmed, 1 to 200 characters."""
    title = str(value).strip()
    if not title:
        raise ValueError("A title is required.")
    if len(title) > TITLE_MAX:
        raise ValueError(f"Use at most {TITLE_MAX} characters for the title.")
    return title


RecordTitle = Annotated[str, AfterValidator(clean_title)]


def title_or_error(value: str) -> str:
    try:
        return clean_title(value)
    except ValueError as error:
        raise errors.invalid_input(fields={"title": [str(error)]}) from None

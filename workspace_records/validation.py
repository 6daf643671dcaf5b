"""The record title rule, shared by the page forms, API schemas and socket calls."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from kernel import errors
from kernel.text import storable_text

TITLE_MAX = 200


def clean_title(value: str) -> str:
    """Trimmed, 1 to 200 characters."""
    title = storable_text(str(value)).strip()
    if not title:
        raise ValueError("A title is required.")
    if len(title) > TITLE_MAX:
        raise ValueError(f"Use at most {TITLE_MAX} characters for the title.")
    return title


BODY_MAX = 20_000


def clean_body(value: str) -> str:
    body = storable_text(str(value))
    if len(body) > BODY_MAX:
        raise ValueError(f"Use at most {BODY_MAX} characters.")
    return body


RecordTitle = Annotated[str, AfterValidator(clean_title)]
RecordBody = Annotated[str, AfterValidator(clean_body)]


def title_or_error(value: str) -> str:
    try:
        return clean_title(value)
    except ValueError as error:
        raise errors.invalid_input(fields={"title": [str(error)]}) from None


def body_or_error(value: str) -> str:
    try:
        return clean_body(value)
    except ValueError as error:
        raise errors.invalid_input(fields={"body": [str(error)]}) from None

"""Rules every stored text obeys, whatever the field."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator


def storable_text(value: str) -> str:
    """PostgreSQL text cannot hold NUL characters: refuse them as invalid input (a
    ValueError for validators), rather than failing at the database."""
    if "\x00" in value:
        raise ValueError("Text cannot contain NUL (\\x00) characters.")
    return value


StorableText = Annotated[str, AfterValidator(storable_text)]
"""For schema fields and query parameters that reach SQL."""


def storable_or_error(value: str, field: str) -> str:
    """storable_text for the function layer: an `invalid_input` AppError naming `field`."""
    from kernel import errors

    try:
        return storable_text(value)
    except ValueError as error:
        raise errors.invalid_input(fields={field: [str(error)]}) from None

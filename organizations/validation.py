"""One validator per concept, shared by forms, API schemas and socket calls."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from kernel import errors
from kernel.text import storable_text

NAME_MIN, NAME_MAX = 2, 64


def clean_organization_name(value: str) -> str:
    """Trimmed, 2 to 64 characters. Raises ValueError with the message users see."""
    name = " ".join(storable_text(str(value)).split())
    if len(name) < NAME_MIN:
        raise ValueError(f"Use at least {NAME_MIN} characters for the name.")
    if len(name) > NAME_MAX:
        raise ValueError(f"Use at most {NAME_MAX} characters for the name.")
    return name


OrganizationName = Annotated[str, AfterValidator(clean_organization_name)]


def organization_name_or_error(value: str, field: str = "name") -> str:
    """The same rule for callers outside pydantic: an `invalid_input` AppError."""
    try:
        return clean_organization_name(value)
    except ValueError as error:
        raise errors.invalid_input(fields={field: [str(error)]}) from None


def normalize_email(value: str) -> str:
    return value.strip().lower()

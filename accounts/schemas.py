"""Inputs and outputs of the accounts domain's functions (pages, API and socket alike)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Annotated, Final
from zoneinfo import available_timezones

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from accounts.avatars import AvatarImage
from kernel.inputs import Input, Name

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

DISPLAY_NAME_MAX: Final = 80


@cache
def time_zones() -> list[str]:
    """Every IANA zone this system knows, sorted: the choices of the time-zone select."""
    return sorted(available_timezones())


REGIONS: Final = frozenset(
    {"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe"}
    | {"Indian", "Pacific"}
)
"""The regions of current IANA names; the rest (US/Eastern, Cuba, Etc/GMT+5) are legacy
aliases: accepted, not offered."""


@cache
def _offered_groups() -> tuple[tuple[StrOrPromise, tuple[tuple[str, str], ...]], ...]:
    groups: dict[str, list[tuple[str, str]]] = {}
    for zone in time_zones():
        region, _, place = zone.partition("/")
        if region in REGIONS and place:
            groups.setdefault(region, []).append((zone, place.replace("_", " ")))
    regions = tuple((region, tuple(zones)) for region, zones in sorted(groups.items()))
    return ((gettext_lazy("General"), (("UTC", "UTC"),)), *regions)


def time_zone_groups(current: str = "") -> list[tuple[str, list[tuple[str, str]]]]:
    """The zones by region, for the select's <optgroup>s: [("Europe", [("Europe/Paris",
    "Paris"), ...]), ...], UTC first; `current` is offered too if it is a legacy alias,
    so saving the form keeps it."""
    groups = [(str(region), list(zones)) for region, zones in _offered_groups()]  # in words now
    if current and all(current != zone for _, zones in groups for zone, _label in zones):
        groups[0][1].append((current, current))
    return groups


def languages() -> list[tuple[str, str]]:
    return [(code, str(label)) for code, label in settings.LANGUAGES]


def check_time_zone(value: str) -> str:
    if value not in time_zones():
        raise ValueError(_("Choose a time zone from the list."))
    return value


def check_language(value: str) -> str:
    if value not in dict(settings.LANGUAGES):
        raise ValueError(
            _("Choose one of: %(languages)s.")
            % {"languages": ", ".join(label for _code, label in languages())}
        )
    return value


DisplayName = Annotated[str, Name(min_length=0, max_length=DISPLAY_NAME_MAX)]
TimeZoneName = Annotated[str, Field(max_length=64), AfterValidator(check_time_zone)]
LanguageCode = Annotated[str, Field(max_length=16), AfterValidator(check_language)]


class ProfileUpdate(Input):
    """What is left out (null) stays as it is."""

    display_name: DisplayName | None = Field(
        None, description="How others see you; empty: your email address"
    )
    time_zone: TimeZoneName | None = Field(None, description="An IANA zone: Europe/Paris")
    language: LanguageCode | None = Field(None, description="A code of the site's languages")
    avatar: AvatarImage | None = Field(
        None, description="A PNG, JPEG or WebP image, base64-encoded"
    )
    remove_avatar: bool = Field(False, description="Back to initials")


class ProfileOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    display_name: str
    name: str
    initials: str
    avatar_url: str | None
    time_zone: str
    language: str

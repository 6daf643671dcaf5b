"""Input models: one per registered function, judging input the same way for every transport.

    class RecordCreate(Input):
        title: Annotated[str, Name(max_length=200)]
        body: Annotated[str, Text(max_length=20_000)] = ""

`Input` refuses unknown fields, checks types without coercing lists or objects to text,
and holds every string to the rules stored text obeys (no NUL, no lone surrogate). `Name`,
`Text` and `Email` are the project's text types: their limits feed the validator, the
OpenAPI schema and the HTML attributes of the forms (`html_attrs`) alike.
`field_errors` turns pydantic's errors into our per-field messages, without library
prefixes: the same words on a page, in the API envelope and in a socket frame.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Final, get_args, get_origin

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils.formats import number_format
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import CoreSchema, ErrorDetails, core_schema

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# Bidirectional controls reorder what a name shows ("evil‮txt.exe"): stripped from names.
BIDI_CONTROLS: Final = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Characters that show nothing: a name made only of these is no name.
INVISIBLE: Final = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u3164\u115f\u1160")


def _visible(character: str) -> bool:
    return not (
        character.isspace()
        or character in INVISIBLE
        or unicodedata.category(character) in ("Cf", "Cc", "Zs")
    )


def storable_text(value: str) -> str:
    """Text PostgreSQL can store: no NUL character, valid Unicode (no lone surrogate)."""
    if "\x00" in value:
        raise ValueError(_("Text cannot contain NUL (\\x00) characters."))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(_("Text must be valid Unicode (it holds a lone surrogate).")) from None
    return value


def _check_text(value: Any) -> None:
    if isinstance(value, str):
        storable_text(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _check_text(item)


class Input(BaseModel):
    """Base of every registered function's input model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        _check_text(value)
        return value


class NoInput(Input):
    """For functions that take no arguments."""


# --- text types -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextRule:
    """A rule for a text field, used as pydantic metadata:

        title: Annotated[str, Name(max_length=200)]

    It validates (after the type check), adds its limits to the JSON schema, and tells
    forms which HTML attributes to show (`html_attrs`)."""

    max_length: int | None = None
    min_length: int = 0
    html_type: str | None = None

    def clean(self, value: str) -> str:
        if self.max_length is not None and len(value) > self.max_length:
            raise ValueError(_at_most(number_format(self.max_length, force_grouping=True)))
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self.clean, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        json_schema = dict(handler(schema))
        if self.max_length is not None:
            json_schema["maxLength"] = self.max_length
        if self.min_length:
            json_schema["minLength"] = self.min_length
        if self.html_type == "email":
            json_schema["format"] = "email"
        return json_schema


@dataclass(frozen=True, slots=True)
class Name(TextRule):
    """A short name (a title, an organization's name) as people see it: bidi controls
    stripped, whitespace collapsed, something visible in it. The same for every transport."""

    max_length: int | None = 200
    min_length: int = 1

    def clean(self, value: str) -> str:
        name = " ".join("".join(c for c in value if c not in BIDI_CONTROLS).split())
        if name and not any(_visible(c) for c in name):
            raise ValueError(_("Use visible characters."))
        if not name and self.min_length:
            raise ValueError(_("This field is required."))
        if len(name) < self.min_length:
            raise ValueError(_at_least(self.min_length))
        if self.max_length is not None and len(name) > self.max_length:
            raise ValueError(_at_most(self.max_length))
        return name


@dataclass(frozen=True, slots=True)
class Text(TextRule):
    """Free text kept as typed (notes, descriptions)."""


EMAIL_MAX: Final = 254


@dataclass(frozen=True, slots=True)
class EmailAddress(TextRule):
    """An email address as Django's forms judge it, trimmed and lowercased."""

    max_length: int | None = EMAIL_MAX
    min_length: int = 1
    html_type: str | None = "email"

    def clean(self, value: str) -> str:
        address = value.strip().lower()
        if len(address) > EMAIL_MAX:
            raise ValueError(_at_most(EMAIL_MAX))
        try:
            validate_email(address)
        except DjangoValidationError:
            raise ValueError(_("Enter a valid email address.")) from None
        return address


Email = Annotated[str, EmailAddress()]


# --- errors ---------------------------------------------------------------------------------

_MESSAGES: Final[Mapping[str, StrOrPromise | Callable[[Mapping[str, Any]], str]]] = {
    "missing": gettext_lazy("This field is required."),
    "extra_forbidden": gettext_lazy("This field is not accepted here."),
    "string_type": gettext_lazy("Enter text."),
    "int_type": gettext_lazy("Enter a whole number."),
    "int_parsing": gettext_lazy("Enter a whole number."),
    "int_from_float": gettext_lazy("Enter a whole number."),
    "float_type": gettext_lazy("Enter a number."),
    "float_parsing": gettext_lazy("Enter a number."),
    "bool_type": gettext_lazy("Enter true or false."),
    "bool_parsing": gettext_lazy("Enter true or false."),
    "list_type": gettext_lazy("Enter a list."),
    "dict_type": gettext_lazy("Enter an object."),
    "model_type": gettext_lazy("Enter an object."),
    "model_attributes_type": gettext_lazy("Enter an object."),
    "datetime_type": gettext_lazy("Enter a date and time (ISO 8601)."),
    "datetime_parsing": gettext_lazy("Enter a date and time (ISO 8601)."),
    "datetime_from_date_parsing": gettext_lazy("Enter a date and time (ISO 8601)."),
    "string_too_long": lambda ctx: _at_most(ctx.get("max_length")),
    "string_too_short": lambda ctx: _at_least(ctx.get("min_length")),
    "too_short": lambda ctx: (
        _("Choose at least one.")
        if ctx.get("min_length") == 1
        else _("Choose at least %(count)s.") % {"count": ctx.get("min_length")}
    ),
    "too_long": lambda ctx: _("Choose at most %(count)s.") % {"count": ctx.get("max_length")},
    "greater_than_equal": lambda ctx: (
        _("Use a value of at least %(value)s.") % {"value": ctx.get("ge")}
    ),
    "less_than_equal": lambda ctx: (
        _("Use a value of at most %(value)s.") % {"value": ctx.get("le")}
    ),
    "greater_than": lambda ctx: _("Use a value above %(value)s.") % {"value": ctx.get("gt")},
    "less_than": lambda ctx: _("Use a value below %(value)s.") % {"value": ctx.get("lt")},
    "enum": lambda ctx: (
        _("Choose one of: %(choices)s.") % {"choices": _choices(ctx.get("expected", ""))}
    ),
    "literal_error": lambda ctx: (
        _("Choose one of: %(choices)s.") % {"choices": _choices(ctx.get("expected", ""))}
    ),
    "value_error": lambda ctx: str(ctx.get("error") or _("This value is not valid.")),
    "assertion_error": lambda ctx: str(ctx.get("error") or _("This value is not valid.")),
}
"""Our words for pydantic's error types, in the language active when the input is judged."""


def _at_most(count: object) -> str:
    return _("Use at most %(count)s characters.") % {"count": count}


def _at_least(count: object) -> str:
    return _("Use at least %(count)s characters.") % {"count": count}


def _choices(expected: str) -> str:
    """pydantic's "'a', 'b' or 'c'" → "a, b, c"."""
    return expected.replace(" or ", ", ").replace("'", "")


def error_message(error: ErrorDetails | Mapping[str, Any]) -> str:
    """Our words for one pydantic error."""
    message = _MESSAGES.get(str(error.get("type", "")))
    if callable(message):
        return message(error.get("ctx") or {})
    if message is not None:
        return str(message)
    text = str(error.get("msg") or _("This value is not valid.")).removeprefix("Value error, ")
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def field_errors(
    errors: Iterable[ErrorDetails | Mapping[str, Any]], *, skip: int = 0
) -> dict[str, list[str]]:
    """Per-field messages, keyed by the dotted location (its first `skip` parts dropped:
    Ninja prefixes ("body", "payload")). Errors of the whole input go under "__all__"."""
    found: dict[str, list[str]] = {}
    for error in errors:
        location = [str(part) for part in tuple(error.get("loc", ()))[skip:]]
        message = error_message(error)
        bucket = found.setdefault(".".join(location) or "__all__", [])
        if message not in bucket:
            bucket.append(message)
    return found


# --- forms ----------------------------------------------------------------------------------


def field_rule(field: FieldInfo) -> TextRule | None:
    """The field's text rule, also inside an optional type (`Annotated[str, Name()] | None`)."""
    found = [*field.metadata, *_nested_metadata(field.annotation)]
    return next((item for item in found if isinstance(item, TextRule)), None)


def _nested_metadata(annotation: Any) -> list[Any]:
    found: list[Any] = []
    for argument in get_args(annotation):
        if get_origin(argument) is Annotated:
            found.extend(argument.__metadata__)
        found.extend(_nested_metadata(argument))
    return found


def html_attrs(model: type[BaseModel], name: str) -> SafeString:
    """`maxlength="200" required` for a form input bound to `model.<name>`."""
    field = model.model_fields[name]
    rule = field_rule(field)
    attrs: list[tuple[str, object]] = []
    if rule is not None:
        if rule.html_type:
            attrs.append(("type", rule.html_type))
        if rule.max_length is not None:
            attrs.append(("maxlength", rule.max_length))
        if rule.min_length > 1:
            attrs.append(("minlength", rule.min_length))
    attributes = format_html_join(" ", '{}="{}"', attrs)
    if field.is_required():
        return SafeString(f"{attributes} required".strip())
    return attributes


def is_plain_text(field: FieldInfo) -> bool:
    """A text field, optional or not: a submitted empty value means "empty text" (an edit
    that clears it, which the field's rule may refuse), not "not given". Typed text (an
    email address) left empty is not given."""
    rule = field_rule(field)
    if rule is not None:
        return rule.html_type is None
    return str in (field.annotation, *get_args(field.annotation))


def form_input(
    model: type[BaseModel], data: Mapping[str, Any], *, only_known: bool = False
) -> dict[str, Any]:
    """A submitted form (a QueryDict) as the model's raw input: lists for list fields,
    empty values of non-text fields left out (an empty <select> means "not given").
    Every other submitted key passes through, so unknown fields are refused as they are
    in the API and the socket; `only_known` drops them instead (GET filters)."""
    getlist = getattr(data, "getlist", None)
    raw: dict[str, Any] = {}
    for key in data:
        field = model.model_fields.get(key)
        if field is None:
            if not only_known:
                raw[key] = data[key]
            continue
        if _is_list(field):
            values = getlist(key) if getlist else data[key]
            raw[key] = [value for value in values if value != ""]
            continue
        value = data[key]
        if value == "" and not is_plain_text(field):
            continue
        raw[key] = value
    return raw


def _is_list(field: FieldInfo) -> bool:
    origin = getattr(field.annotation, "__origin__", None)
    return origin in (list, set, frozenset, tuple, Sequence)

"""The shape every provider event must have before it is stored, judged once for all.

    payload = decode(text)                                  # JSON we can store, or Malformed
    event = read(payload, names={"occurred_at": "created", ...})   # the envelope, or Malformed

A provider checks the signature, then says where its id, type, time and data are; this
module does the rest. What fails here is answered 400 with nothing stored (the provider
sent something that is not an event we could ever keep); what passes can be stored, and
anything wrong inside `data` is the event's failure, kept for an operator (billing/webhooks.py).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BeforeValidator, ValidationError, field_validator

from billing.events import VerifiedEvent
from kernel.inputs import Input, field_errors

MAX_DEPTH: Final = 32
"""Provider events nest a handful of levels; deeper is not an event (and would exhaust
the recursion of the JSON parser or of PostgreSQL's jsonb)."""
EARLIEST: Final = datetime(2000, 1, 1, tzinfo=UTC)
CLOCK_SKEW: Final = timedelta(days=1)
"""An event from the future would outrank every later state (billing/processing.py)."""
ID_MAX: Final = 200
TYPE_MAX: Final = 100


class Malformed(Exception):
    """Correctly signed, but not an event we can store: 400, nothing stored."""

    def __init__(self, fields: Mapping[str, list[str]]) -> None:
        self.fields = dict(fields)
        super().__init__("; ".join(f"{name}: {' '.join(why)}" for name, why in self.fields.items()))


def utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed({"__all__": ["The body is not valid UTF-8."]}) from None


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e400: json would read infinity, jsonb refuses it
        raise ValueError(f"{text} is out of range")
    return number


def decode(text: str) -> dict[str, Any]:
    """The body as a JSON object PostgreSQL's jsonb can hold (the text itself — NUL,
    lone surrogates — is checked by the envelope)."""
    try:
        payload = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    except (ValueError, RecursionError) as error:
        raise Malformed({"__all__": [f"The body is not JSON: {error}."]}) from None
    if not isinstance(payload, dict):
        raise Malformed({"__all__": ["The body is not a JSON object."]})
    if _depth(payload) > MAX_DEPTH:
        raise Malformed({"__all__": [f"The body nests deeper than {MAX_DEPTH} levels."]})
    return payload


def _depth(value: Any) -> int:
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            pending.extend((child, level + 1) for child in _children(item))
    return deepest


def _children(item: dict[str, Any] | list[Any]) -> list[Any]:
    return list(item.values()) if isinstance(item, dict) else item


# --- the envelope ---------------------------------------------------------------------------


def _token(value: str) -> str:
    """A provider's id: visible ASCII, as every provider writes them (evt_…, msg_…)."""
    if not value or len(value) > ID_MAX:
        raise ValueError(f"Use 1 to {ID_MAX} characters.")
    if not all("!" <= character <= "~" for character in value):
        raise ValueError("Use visible ASCII characters only.")
    return value


def _event_type(value: str) -> str:
    if not value or len(value) > TYPE_MAX:
        raise ValueError(f"Use 1 to {TYPE_MAX} characters.")
    if not value.isprintable():
        raise ValueError("Use printable characters only.")
    return value


def _moment(value: Any) -> datetime:
    """Unix seconds (Stripe, local) or ISO 8601 with a zone (Polar), in a sane range."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("Enter Unix seconds or an ISO 8601 date and time.")
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("Enter an ISO 8601 date and time.") from None
        if moment.tzinfo is None:
            raise ValueError("Give the time zone (an ISO 8601 offset or Z).")
    else:
        if not math.isfinite(value) or abs(value) > 1e11:  # past year 5000: not a time
            raise ValueError("Enter Unix seconds of a date since 2000.")
        moment = datetime.fromtimestamp(value, UTC)
    if moment < EARLIEST or moment > datetime.now(UTC) + CLOCK_SKEW:
        raise ValueError("Enter a time between 2000 and now.")
    return moment


class Envelope(Input):
    """What we store of every provider's event. `Input` refuses text PostgreSQL cannot
    hold (NUL, lone surrogates) anywhere in it, the payload included."""

    id: Annotated[str, AfterValidator(_token)]
    type: Annotated[str, AfterValidator(_event_type)]
    occurred_at: Annotated[datetime, BeforeValidator(_moment)]
    data: dict[str, Any]
    payload: dict[str, Any]
    """The body as received."""

    def verified(self) -> VerifiedEvent:
        return VerifiedEvent(self.id, self.type, self.occurred_at, self.payload)


class ObjectEnvelope(Envelope):
    """Stripe's shape: `data.object` is the object the event is about."""

    @field_validator("data")
    @classmethod
    def _holds_an_object(cls, data: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(data.get("object"), dict):
            raise ValueError("data.object must be an object.")
        return data


def read(
    payload: dict[str, Any],
    *,
    names: Mapping[str, str],
    model: type[Envelope] = Envelope,
    **given: Any,
) -> VerifiedEvent:
    """The event in `payload`: `names` maps envelope fields to the provider's own names
    (errors use them), `given` supplies fields from elsewhere (a header), overriding."""
    raw = {field: payload[key] for field, key in names.items() if key in payload}
    try:
        envelope = model.model_validate({**raw, **given, "payload": payload})
    except ValidationError as error:
        fields = field_errors(error.errors())
        raise Malformed({names.get(name, name): why for name, why in fields.items()}) from None
    return envelope.verified()

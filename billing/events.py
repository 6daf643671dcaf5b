"""What provider events mean to us: each adapter maps its events to these changes, and
one set of internal mutations (billing/processing.py) applies them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from billing.plans import Plan

ID_MAX: Final = 2**63 - 1
"""Our ids are PostgreSQL bigints."""
COUNT_MAX: Final = 2**31 - 1


class CannotApply(Exception):
    """A well-formed event that cannot be applied as it stands — it names a price that is
    not in the catalogue, an organization that does not exist, an id we cannot read. It
    is stored as failed with this message and acknowledged, so the provider stops
    retrying; an operator reprocesses it once the cause is fixed."""


def organization_id(*candidates: Any) -> int | None:
    """The first organization id given (None: none is, ask the customer record).
    A value that is there but is not an id is an error, never skipped: '٣' is not 3."""
    for value in candidates:
        if value is not None and value != "":
            return whole_number(value, "organization id", maximum=ID_MAX)
    return None


REFERENCE_MAX: Final = 200
"""The length of the columns that keep providers' ids (billing/models.py)."""


def reference(value: Any, what: str, *, optional: bool = False) -> str:
    """A provider's id for something (sub_…, cus_…, a UUID): visible ASCII text that fits
    our columns. Empty is allowed only when `optional`."""
    if optional and value in (None, ""):
        return ""
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= REFERENCE_MAX
        or not all("!" <= character <= "~" for character in value)
    ):
        raise CannotApply(f"The event's {what} {value!r} is not a provider id.")
    return value


def whole_number(value: Any, what: str, *, maximum: int = COUNT_MAX) -> int:
    """A positive whole number from a provider's JSON: an integer, or ASCII digits.
    (str.isdigit() and int() accept '٣' and '³'; ids are written in ASCII.)"""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 20:
        number = int(value)
    else:
        raise CannotApply(f"The event's {what} {value!r} is not a number in ASCII digits.")
    if not 1 <= number <= maximum:
        raise CannotApply(f"The event's {what} {number} is out of range.")
    return number


@dataclass(frozen=True)
class VerifiedEvent:
    """An event whose signature checked out, before we interpret it."""

    id: str
    type: str
    occurred_at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True)
class SubscriptionState:
    """The provider's subscription as of `as_of`: newer states replace older ones."""

    provider: str
    external_id: str
    organization_id: int | None
    customer_id: str
    plan: Plan
    status: str
    seats: int
    current_period_end: datetime | None
    cancel_at_period_end: bool
    as_of: datetime
    trial_end: datetime | None = None
    ended_at: datetime | None = None
    item_id: str = ""
    scheduled_plan: str = ""
    """The plan's code it changes to at the period end (Polar's pending update); "": none."""
    creates: bool = False
    """The provider's creation event: within the same second, any other state is newer
    (a cancellation stamped the second it was created must not be undone by it)."""


@dataclass(frozen=True)
class InvoicePaid:
    """A subscription's invoice was paid, through `period_end` (renewals extend grants)."""

    provider: str
    subscription_id: str
    organization_id: int | None
    plan: Plan | None
    period_end: datetime


@dataclass(frozen=True)
class OneTimePurchase:
    """A one-time payment (the lifetime plan), paid at `paid_at`."""

    provider: str
    payment_id: str
    organization_id: int | None
    customer_id: str
    plan: Plan
    paid_at: datetime


@dataclass(frozen=True)
class Refund:
    """A one-time payment was refunded at `refunded_at`. It may arrive before the purchase
    it refers to: it is kept on the purchase's row and applied when the purchase comes."""

    provider: str
    payment_id: str
    organization_id: int | None
    customer_id: str
    refunded_at: datetime


@dataclass(frozen=True)
class PaymentReceived:
    """Money arrived (an invoice, an order, a one-time payment): a receipt to tell the
    organization's billing managers about, and for the local provider, its own receipt."""

    provider: str
    reference: str
    """The provider's id of the invoice, order or payment."""
    organization_id: int | None
    customer_id: str
    amount: int
    """In minor units (cents)."""
    currency: str
    paid_at: datetime
    number: str = ""


Change = SubscriptionState | InvoicePaid | OneTimePurchase | Refund | PaymentReceived

"""What provider events mean to us: each adapter maps its events to these changes, and
one set of internal mutations (billing/processing.py) applies them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from billing.plans import Plan


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
    provider: str
    payment_id: str
    organization_id: int | None
    customer_id: str
    plan: Plan


@dataclass(frozen=True)
class Refund:
    provider: str
    payment_id: str


Change = SubscriptionState | InvoicePaid | OneTimePurchase | Refund

"""Inputs and outputs of billing's functions."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from pydantic import BaseModel, ConfigDict, Field

from kernel.inputs import Input


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class LimitOut(Output):
    kind: str
    label: str
    used: int
    allowed: int | None
    """None: unlimited."""


class SubscriptionOut(Output):
    provider: str
    provider_label: str
    plan: str
    status: str
    status_label: str
    current_period_end: datetime | None
    cancel_at_period_end: bool
    trial_end: datetime | None = None
    seats: int
    """What the provider bills (per-seat plans: the quantity last pushed to it)."""
    is_live: bool
    can_end_now: bool
    """False where the provider ends subscriptions at the period's end only."""


class BillingOut(Output):
    plan: str
    plan_name: str
    per_seat: bool
    status: str
    """free, lifetime, or the subscription's: trialing, active, past_due, canceled, …"""
    provider: str | None
    renews_at: datetime | None
    ends_at: datetime | None
    """Set when the subscription is cancelled at the period end."""
    capabilities: list[str]
    limits: list[LimitOut]
    seats_used: int = 0
    """The seat rule (members plus pending, unexpired invitations): what a per-seat plan
    bills."""
    trial_available: bool = False
    """The organization may still start a free trial (once; not while subscribed)."""
    subscription: SubscriptionOut | None = Field(description="The live, else the latest one")


class InvoiceOut(Output):
    provider: str
    number: str
    issued_at: datetime
    amount: int = Field(description="In minor units (cents), in `currency`")
    currency: str = Field(description="ISO 4217, lower case as the providers write it")
    status: str = Field(description="paid, open, void or refunded")
    status_label: str
    url: str = Field(description="The provider's hosted invoice or receipt page; may be empty")
    pdf_url: str = Field(description="The invoice as a PDF; may be empty")


class InvoicesOut(Output):
    invoices: list[InvoiceOut] = Field(description="Newest first, from every provider")
    unavailable: list[str] = Field(
        description="Providers that could not be reached just now: their invoices are missing"
    )


class PlanChoice(Input):
    plan: str = Field(max_length=32, description="A paid plan's code, e.g. pro_monthly")


class ChangePreviewOut(Output):
    """A plan change's price, before it is confirmed (amounts in minor units)."""

    plan: str
    plan_name: str
    interval: str
    seats: int
    """Billed on the new plan: the seat rule's count on a per-seat plan, else 1."""
    amount_due_now: int
    currency: str
    next_amount: int
    exact: bool
    """False: estimated from the catalogue's prices (the provider has no preview)."""


class CancelWhen(models.TextChoices):
    PERIOD_END = "period_end", "At the end of the period"
    NOW = "now", "Now"


class Cancellation(Input):
    when: CancelWhen = CancelWhen.PERIOD_END


class LocalPayment(Input):
    token: str = Field(max_length=500)


# --- internal ---------------------------------------------------------------------------------


class OrganizationRef(Input):
    organization_id: int


class PendingCancellationIds(Input):
    pending_ids: list[int] | None = None
    """Pending cancellations to try (billing.models.PendingCancellation); None: all."""


class PendingCancellationFailure(Input):
    pending_id: int
    error: str


class ReconciledState(Input):
    """A subscription as its provider has it (billing/reconcile.py), to apply to ours."""

    provider: str
    external_id: str
    organization_id: int
    customer_id: str
    plan: str
    status: str
    seats: int
    current_period_end: datetime | None
    cancel_at_period_end: bool
    trial_end: datetime | None
    ended_at: datetime | None
    item_id: str
    as_of: datetime
    scheduled_plan: str = ""
    creates: bool = False
    """Always False: a state read back is not the provider's creation event."""


class ReconcileReport(Output):
    checked: int = 0
    """Subscriptions compared with their provider."""
    repaired: list[str] = []
    """What was drifting, per subscription: ours updated to the provider's."""
    seats_pushed: list[str] = []
    """Per-seat subscriptions whose quantity was set to the seats in use (`seats_used`)."""
    cancellations_confirmed: int = 0
    cancellations_pending: int = 0
    """Deleted organizations' subscriptions the provider has not confirmed cancelled."""
    failed: list[str] = []


class CustomerRecord(Input):
    organization_id: int
    provider: str
    customer_id: str


class EventRef(Input):
    event_pk: int


class EventFailure(Input):
    event_pk: int
    error: str


class ManualGrant(Input):
    organization_id: int
    plan_code: str
    expires_at: datetime | None = None
    note: str = Field(max_length=200)


class GrantRef(Input):
    grant_id: int

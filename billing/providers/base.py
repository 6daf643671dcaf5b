"""The one interface every billing provider implements (Stripe, Polar, Lemon Squeezy, local)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol

from billing.events import Change, SubscriptionState, VerifiedEvent
from billing.plans import Plan


class WebhookVerificationError(Exception):
    """Bad, missing or stale signature: answer 400 and store nothing."""


@dataclass(frozen=True)
class CheckoutRequest:
    organization_id: int
    organization_name: str
    email: str
    plan: Plan
    seats: int
    customer_id: str | None
    """Ours at this provider already, if the organization has one."""
    success_url: str
    cancel_url: str
    trial_days: int = 0
    """A free trial to start the subscription with (the provider's own; local: at once)."""


@dataclass(frozen=True)
class CheckoutStarted:
    url: str
    customer_id: str | None = None
    """A customer created on the way, to remember."""


INVOICE_STATUSES: Final = ("paid", "open", "void", "refunded")


@dataclass(frozen=True)
class Invoice:
    """An invoice or receipt as its provider has it, for the invoices page."""

    number: str
    issued_at: datetime
    amount: int
    """In minor units (cents)."""
    currency: str
    status: str
    """One of INVOICE_STATUSES."""
    url: str
    """The provider's hosted invoice or receipt page; may be ""."""
    pdf_url: str = ""


INVOICES_SHOWN: Final = 24
"""The newest invoices a provider is asked for (two years of a monthly plan)."""


@dataclass(frozen=True)
class ChangePreview:
    """What a plan change costs, shown before it is confirmed (minor units)."""

    amount_due_now: int
    """Charged when the change is made: the prorated difference (0 for a downgrade,
    whose credit goes to the next invoices)."""
    currency: str
    next_amount: int
    """Each period from then on."""
    exact: bool
    """False: estimated locally from the catalogue's prices (the provider has no preview)."""


PERIODS: Final = {"month": timedelta(days=30), "year": timedelta(days=365)}
"""A period's length, for estimates and the local provider."""


def estimate_change(
    current: SubscriptionState, plan: Plan, seats: int, *, now: datetime, exact: bool = False
) -> ChangePreview:
    """A plan change priced from the catalogue: the new price for the rest of the period
    minus what is left of the current one (a new interval starts a new period: its full
    price, less the unused rest). Nothing is due during a trial."""
    old = current.plan.price_cents * (current.seats if current.plan.per_seat else 1)
    new = plan.price_cents * (seats if plan.per_seat else 1)
    period = PERIODS.get(str(current.plan.interval))
    left = 0.0
    if period and current.current_period_end:
        left = min(max((current.current_period_end - now) / period, 0.0), 1.0)
    if current.status == "trialing":
        due = 0
    elif plan.interval != current.plan.interval:
        due = new - round(old * left)
    else:
        due = round((new - old) * left)
    return ChangePreview(amount_due_now=max(due, 0), currency="usd", next_amount=new, exact=exact)


class BillingProvider(Protocol):
    name: str

    def start_checkout(self, request: CheckoutRequest) -> CheckoutStarted: ...

    def portal_url(self, *, customer_id: str, return_url: str) -> str: ...

    def cancel(self, *, subscription_id: str, at_period_end: bool) -> None: ...

    def resume(self, *, subscription_id: str) -> None: ...

    def change_plan(self, *, subscription_id: str, item_id: str, plan: Plan) -> None:
        """Upgrade or downgrade in place, prorated."""
        ...

    def preview_change(
        self, *, subscription_id: str, item_id: str, plan: Plan, seats: int
    ) -> ChangePreview:
        """What `change_plan` to `plan` (with `seats`) would charge now, and then each
        period: the provider's proration preview where it has one."""
        ...

    def set_seats(self, *, subscription_id: str, item_id: str, seats: int) -> None:
        """Push a per-seat plan's quantity now, prorated."""
        ...

    def fetch_subscription(self, *, subscription_id: str) -> SubscriptionState:
        """The subscription as the provider has it now (reconciliation, billing/reconcile.py),
        `as_of` the moment it was asked."""
        ...

    def invoices(self, *, customer_id: str) -> list[Invoice]:
        """The customer's newest invoices (at most INVOICES_SHOWN), newest first; drafts
        are not shown."""
        ...

    def verify(self, body: bytes, headers: Mapping[str, str]) -> VerifiedEvent:
        """Check the signature (and timestamp) and parse; WebhookVerificationError if not."""
        ...

    def changes(self, event: VerifiedEvent) -> list[Change]:
        """What the event means for us; [] for types we do not act on."""
        ...


class ProviderError(Exception):
    """The provider refused or could not be reached; shown to the user as such."""

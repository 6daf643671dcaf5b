"""The plan catalogue: one declarative table of what each plan costs where, and grants.

A plan grants capabilities (strings the permission catalogue can require, e.g.
`feature.pro`) and limits, written as capabilities too (`limit.members:10`), so that an
organization's entitlements are simply its active grants (billing/grants.py). Prices
live at the providers; their ids come from settings (environment variables).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from django.conf import settings

from kernel.permissions import FREE_CAPABILITIES

Interval = Literal["month", "year", "lifetime"]
UNLIMITED: Final = None
FREE_MEMBER_LIMIT: Final = 5
FREE_RECORD_LIMIT: Final = 100


@dataclass(frozen=True)
class Plan:
    code: str
    name: str
    interval: Interval | None
    """None for the free plan; "lifetime" is one payment that never expires."""
    capabilities: frozenset[str]
    member_limit: int | None
    """Seats (members plus pending invitations); None: unlimited. Per-seat plans are
    unlimited and billed per member: the quantity follows membership (billing/seats.py)."""
    record_limit: int | None
    per_seat: bool = False
    rank: int = 0
    """Higher ranks lift more; "the plan that lifts a limit" is the lowest rank that does."""
    price_cents: int = 0
    """For the plan picker only: the providers hold the real prices."""

    @property
    def is_free(self) -> bool:
        return self.interval is None

    @property
    def is_one_time(self) -> bool:
        return self.interval == "lifetime"

    def price_id(self, provider: str) -> str:
        """The provider's price (Stripe) or product (Polar) id; the code for "local"."""
        if provider == "local":
            return self.code
        prefix = "STRIPE_PRICE_" if provider == "stripe" else "POLAR_PRODUCT_"
        return str(settings.BILLING_PRICE_IDS.get(prefix + self.code.upper(), ""))

    def grants(self) -> frozenset[str]:
        """Everything the plan grants, its limits written as capabilities."""
        members = "unlimited" if self.member_limit is None else self.member_limit
        records = "unlimited" if self.record_limit is None else self.record_limit
        return self.capabilities | {f"limit.members:{members}", f"limit.records:{records}"}


_PRO = FREE_CAPABILITIES | {"feature.pro"}

PLANS: Final[dict[str, Plan]] = {
    plan.code: plan
    for plan in (
        Plan("free", "Free", None, FREE_CAPABILITIES, FREE_MEMBER_LIMIT, FREE_RECORD_LIMIT),
        Plan("pro_monthly", "Pro", "month", _PRO, 10, 10_000, rank=1, price_cents=1_500),
        Plan("pro_yearly", "Pro (yearly)", "year", _PRO, 10, 10_000, rank=1, price_cents=15_000),
        Plan(
            "pro_lifetime",
            "Pro (lifetime)",
            "lifetime",
            _PRO,
            10,
            10_000,
            rank=1,
            price_cents=39_900,
        ),
        Plan(
            "team_monthly",
            "Team",
            "month",
            _PRO | {"feature.team"},
            None,
            UNLIMITED,
            per_seat=True,
            rank=2,
            price_cents=1_200,
        ),
    )
}
FREE: Final = PLANS["free"]


def get_plan(code: str) -> Plan | None:
    return PLANS.get(code)


def plan_for_price(provider: str, price_id: str) -> Plan | None:
    """The plan a provider's price/product id belongs to (webhooks name prices)."""
    if not price_id:
        return None
    for plan in PLANS.values():
        if not plan.is_free and plan.price_id(provider) == price_id:
            return plan
    return None


def paid_plans() -> list[Plan]:
    return [plan for plan in PLANS.values() if not plan.is_free]

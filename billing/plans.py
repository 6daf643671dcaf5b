"""The plan catalogue: one declarative table of what each plan costs where, and grants.

A plan grants capabilities (strings the permission catalogue and the domains' limits
refer to: `members.invite`, `feature.pro`), so an organization's entitlements are simply
its active grants (billing/grants.py). What a capability means for a domain's limit is
declared by that domain (kernel/limits.py): billing never names a domain. Prices live at
the providers; their ids come from settings (environment variables).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from django.conf import settings

from kernel.limits import LIMITS
from kernel.permissions import CATALOGUE

Interval = Literal["month", "year", "lifetime"]
FREE_CAPABILITIES: Final = frozenset({"members.invite"})
PRICE_SETTINGS: Final = {
    "stripe": "STRIPE_PRICE_",
    "polar": "POLAR_PRODUCT_",
    "lemonsqueezy": "LEMONSQUEEZY_VARIANT_",
}
"""Where each provider's id of a plan is configured: the prefix of BILLING_PRICE_IDS' keys."""


@dataclass(frozen=True)
class Plan:
    code: str
    name: str
    interval: Interval | None
    """None for the free plan; "lifetime" is one payment that never expires."""
    capabilities: frozenset[str]
    per_seat: bool = False
    """Billed per member: the quantity follows membership (billing/actions.py)."""
    rank: int = 0
    """Higher ranks lift more; "the plan that lifts a limit" is the lowest rank that does."""
    price_cents: int = 0
    """For the plan picker, previews and local estimates: the providers hold the real
    prices."""
    trial_days: int = 0
    """A free trial an organization may start once, from the plan picker (0: none)."""

    @property
    def is_free(self) -> bool:
        return self.interval is None

    @property
    def is_one_time(self) -> bool:
        return self.interval == "lifetime"

    def price_id(self, provider: str) -> str:
        """The provider's price (Stripe), product (Polar) or variant (Lemon Squeezy) id;
        the code for "local"; "" when none is configured."""
        if provider == "local":
            return self.code
        prefix = PRICE_SETTINGS.get(provider)
        if prefix is None:
            return ""
        return str(settings.BILLING_PRICE_IDS.get(prefix + self.code.upper(), ""))

    def grants(self) -> frozenset[str]:
        """Everything the plan grants."""
        return self.capabilities

    @property
    def limits(self) -> list[tuple[str, int | None]]:
        """(what, how many; None: unlimited) under this plan, for the plan picker."""
        return [(str(limit.label), limit.allowed(self.capabilities)) for limit in LIMITS.values()]

    @property
    def features(self) -> list[tuple[str, bool]]:
        """(what people may do, included?) for every permission a capability gates: the
        plan picker's comparison rows, the same on every plan."""
        return [
            (str(permission.description), permission.capability in self.capabilities)
            for permission in CATALOGUE.values()
            if permission.capability
        ]

    @property
    def price(self) -> str:
        """For people: "$15", "$1,500", "$12.50"; the providers charge the real price."""
        return money(self.price_cents, "usd")


def money(amount: int, currency: str) -> str:
    """Minor units for people: "$15", "$12.50", "-$3", "12.50 EUR"."""
    sign, amount = ("-" if amount < 0 else ""), abs(amount)
    major, minor = divmod(amount, 100)
    number = f"{major:,}" + (f".{minor:02}" if minor else "")
    if currency.lower() == "usd":
        return f"{sign}${number}"
    return f"{sign}{number} {currency.upper()}"


_PRO = FREE_CAPABILITIES | {"feature.pro"}

PLANS: Final[dict[str, Plan]] = {
    plan.code: plan
    for plan in (
        Plan("free", "Free", None, FREE_CAPABILITIES),
        Plan("pro_monthly", "Pro", "month", _PRO, rank=1, price_cents=1_500, trial_days=14),
        Plan("pro_yearly", "Pro (yearly)", "year", _PRO, rank=1, price_cents=15_000),
        Plan("pro_lifetime", "Pro (lifetime)", "lifetime", _PRO, rank=1, price_cents=39_900),
        Plan(
            "team_monthly",
            "Team",
            "month",
            _PRO | {"feature.team"},
            per_seat=True,
            rank=2,
            price_cents=1_200,
            trial_days=14,
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

"""Billing providers by name."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from billing.providers.base import BillingProvider

PROVIDER_NAMES = ("stripe", "polar", "lemonsqueezy", "local")
PROVIDER_LABELS = {
    "stripe": "Stripe",
    "polar": "Polar",
    "lemonsqueezy": "Lemon Squeezy",
    "local": "Local payments",
}
"""Providers in words: the actor of the audit rows their events write, the billing page's
"via …" (brand names: not translated)."""
ENDS_AT_PERIOD_END_ONLY = frozenset({"lemonsqueezy"})
"""Providers whose API cannot end a subscription at once: cancelling stops renewals and
the plan lasts to the period's end, so "Cancel now" is not offered for them."""


def get_provider(name: str) -> BillingProvider:
    if name == "stripe":
        from billing.providers.stripe import StripeProvider

        return StripeProvider()
    if name == "polar":
        from billing.providers.polar import PolarProvider

        return PolarProvider()
    if name == "lemonsqueezy":
        from billing.providers.lemonsqueezy import LemonSqueezyProvider

        return LemonSqueezyProvider()
    if name == "local":
        from billing.providers.local import LocalProvider

        return LocalProvider()
    raise LookupError(f"Unknown billing provider {name!r}")


def checkout_provider() -> BillingProvider:
    """The provider new checkouts go to (settings.BILLING_PROVIDER)."""
    if settings.BILLING_PROVIDER == "none":
        from kernel import errors

        raise errors.conflict(_("Billing is not set up on this server yet."))
    return get_provider(settings.BILLING_PROVIDER)

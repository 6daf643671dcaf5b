"""Billing providers by name."""

from __future__ import annotations

from django.conf import settings

from billing.providers.base import BillingProvider

PROVIDER_NAMES = ("stripe", "polar", "local")
PROVIDER_LABELS = {"stripe": "Stripe", "polar": "Polar", "local": "Local payments"}
"""Providers in words: the actor of the audit rows their events write."""


def get_provider(name: str) -> BillingProvider:
    if name == "stripe":
        from billing.providers.stripe import StripeProvider

        return StripeProvider()
    if name == "polar":
        from billing.providers.polar import PolarProvider

        return PolarProvider()
    if name == "local":
        from billing.providers.local import LocalProvider

        return LocalProvider()
    raise LookupError(f"Unknown billing provider {name!r}")


def checkout_provider() -> BillingProvider:
    """The provider new checkouts go to (settings.BILLING_PROVIDER)."""
    if settings.BILLING_PROVIDER == "none":
        from kernel import errors

        raise errors.conflict("Billing is not set up on this server yet.")
    return get_provider(settings.BILLING_PROVIDER)

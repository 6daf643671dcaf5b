"""A billing provider is either fully configured or off; half of one is a check error."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks

# provider → the settings (environment variables) it needs together
PROVIDER_SETTINGS: dict[str, tuple[str, ...]] = {
    "Stripe": ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"),
    "Polar": ("POLAR_ACCESS_TOKEN", "POLAR_WEBHOOK_SECRET"),
    "Lemon Squeezy": (
        "LEMONSQUEEZY_API_KEY",
        "LEMONSQUEEZY_STORE_ID",
        "LEMONSQUEEZY_WEBHOOK_SECRET",
    ),
}


@checks.register()
def check_billing_providers(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    found: list[checks.CheckMessage] = []
    for provider, names in PROVIDER_SETTINGS.items():
        present = [name for name in names if getattr(settings, name, "")]
        missing = [name for name in names if name not in present]
        if present and missing:
            found.append(
                checks.Error(
                    f"{provider} is half-configured: {', '.join(present)} is set but "
                    f"{', '.join(missing)} is not.",
                    hint=f"Set {', '.join(missing)} as well, or unset {', '.join(present)} "
                    f"to turn {provider} off.",
                    id="billing.E001",
                    obj=missing[0],
                )
            )
    # Lemon Squeezy's events carry no id: a repeat is known by its body, so a repeat must
    # arrive while the first one is still stored (billing/providers/lemonsqueezy.py).
    kept_hours = settings.WEBHOOK_EVENT_RETENTION_DAYS * 24
    max_age = settings.LEMONSQUEEZY_WEBHOOK_MAX_AGE_HOURS
    if max_age >= kept_hours:
        found.append(
            checks.Error(
                f"LEMONSQUEEZY_WEBHOOK_MAX_AGE_HOURS ({max_age})"
                f" is not below WEBHOOK_EVENT_RETENTION_DAYS in hours ({kept_hours}): a repeated"
                " Lemon Squeezy event could arrive after the first was pruned and be applied"
                " again.",
                hint="Lower LEMONSQUEEZY_WEBHOOK_MAX_AGE_HOURS or raise"
                " WEBHOOK_EVENT_RETENTION_DAYS.",
                id="billing.E002",
                obj="LEMONSQUEEZY_WEBHOOK_MAX_AGE_HOURS",
            )
        )
    return found

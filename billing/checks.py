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
    return found

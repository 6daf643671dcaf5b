"""Usage counters for the billing page, registered by the apps that own what they count
(billing knows limits by name, not the apps behind them)."""

from __future__ import annotations

from collections.abc import Callable

Counter = Callable[[int], int]
"""organization id → how many are in use."""

COUNTERS: dict[str, Counter] = {}


def register_usage(limit: str, counter: Counter) -> None:
    """`register_usage("records", count)`: shown against `limit.records` on the billing page."""
    COUNTERS[limit] = counter


def usage(limit: str, organization_id: int) -> int:
    counter = COUNTERS.get(limit)
    return counter(organization_id) if counter is not None else 0

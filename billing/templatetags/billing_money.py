"""Amounts in minor units, written for people in their language's number format."""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from django import template
from django.utils.formats import number_format

register = template.Library()

ZERO_DECIMAL: Final = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd",
     "vuv", "xaf", "xof", "xpf"}
)  # fmt: skip
"""Currencies without minor units: the amount is already whole (as Stripe counts them)."""


@register.filter
def money(amount: int, currency: str) -> str:
    """1500, "usd" → "15.00 USD" (German: "15,00 USD")."""
    code = (currency or "").lower()
    places = 0 if code in ZERO_DECIMAL else 2
    value = Decimal(amount) / (10**places)
    number = number_format(value, decimal_pos=places, use_l10n=True, force_grouping=True)
    return f"{number} {code.upper()}".strip()

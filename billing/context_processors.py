"""The past-due and trial-ending banner, for those who may read billing (`billing.read`):
read through the door like anything else, so a viewer never sees it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from billing.queries import billing_banner
from kernel.door import call
from kernel.errors import AppError


def billing_banner_context(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    try:
        banner = call(billing_banner, request)
    except AppError:  # no permission, no organization: no banner
        return {}
    return {"billing_banner": banner} if banner else {}

"""Every page knows the active organization, read through the door like anything else."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from kernel.door import call
from kernel.errors import AppError
from organizations.queries import organization_get


def active_organization(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    try:
        return {"active_organization": call(organization_get, request)}
    except AppError:
        return {}

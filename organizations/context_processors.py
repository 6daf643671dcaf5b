"""Every page knows the active organization and the person's others (the header's
switcher), read through the door like anything else."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from kernel.door import call
from kernel.errors import AppError
from organizations.queries import organization_get, organizations_of_user


def active_organization(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    found: dict[str, Any] = {}
    try:
        found["my_organizations"] = call(organizations_of_user, request)
        found["active_organization"] = call(organization_get, request)
    except AppError:  # an API key, no organization yet: what was found so far
        pass
    return found

"""What an organization's plan grants. Until plans and grants exist: the free defaults.

The billing issue replaces these functions' bodies with reads of the organization's
grants; their callers (the permission guard, seat and record checks) stay as they are.
"""

from __future__ import annotations

from typing import Final

from kernel.permissions import FREE_CAPABILITIES

FREE_MEMBER_LIMIT: Final = 5
FREE_RECORD_LIMIT: Final = 100
FREE_PLAN_NAME: Final = "Free"
UPGRADE_PLAN_NAME: Final = "Team"


def organization_capabilities(organization_id: int) -> frozenset[str]:
    return FREE_CAPABILITIES


def member_limit(organization_id: int) -> int | None:
    """Seats: members plus pending invitations. None means unlimited."""
    return FREE_MEMBER_LIMIT


def record_limit(organization_id: int) -> int | None:
    """Workspace records an organization may keep. None means unlimited."""
    return FREE_RECORD_LIMIT


def plan_names(organization_id: int) -> tuple[str, str]:
    """(current plan, the plan that lifts its limits) for error messages."""
    return FREE_PLAN_NAME, UPGRADE_PLAN_NAME

"""Billing's side effects, run by the task queue after the change that needs them."""

from __future__ import annotations

from billing import actions
from billing.schemas import OrganizationRef
from kernel.actor import SYSTEM
from kernel.door import call
from kernel.tasks import durable


@durable(max_attempts=12)
def push_seats(organization_id: int) -> None:
    """Tell the provider how many seats a per-seat subscription has. It reads the count
    when it runs, so a repeat (a retry, a burst of membership changes) pushes the same
    number and changes nothing."""
    call(actions.sync_seats, SYSTEM, OrganizationRef(organization_id=organization_id))

"""Billing's side effects, run by the task queue after the change that needs them."""

from __future__ import annotations

import logging

from billing import actions, reconcile
from billing.schemas import OrganizationRef
from kernel.actor import SYSTEM
from kernel.door import call
from kernel.tasks import durable

logger = logging.getLogger(__name__)


@durable(max_attempts=12)
def push_seats(organization_id: int) -> None:
    """Tell the provider how many seats a per-seat subscription has. It reads the count
    when it runs, so a repeat (a retry, a burst of membership changes) pushes the same
    number and changes nothing."""
    call(actions.sync_seats, SYSTEM, OrganizationRef(organization_id=organization_id))


@durable(max_attempts=12)
def cancel_subscriptions(pending_ids: list[int]) -> int:
    """Cancel a deleted organization's subscriptions at their providers (enqueued by its
    deletion). Retried until each provider confirms (a few hours of attempts); after
    that, every reconciliation tries again. Confirmed ones are forgotten, so a repeat
    calls nobody."""
    confirmed: int = call(reconcile.cancel_pending, SYSTEM, {"pending_ids": pending_ids})
    return confirmed


@durable(max_attempts=3)
def reconcile_subscriptions() -> dict[str, object]:
    """The periodic reconciliation (billing/domain.py): its report is the task's result."""
    report = call(reconcile.reconcile, SYSTEM)
    if report.failed or report.cancellations_pending:
        logger.error("billing: reconciliation left drift: %s", report.model_dump_json())
    return dict(report.model_dump())

"""The organizations app's tasks (kernel/tasks.py): purging organizations whose grace
period ended (periodic, organizations/domain.py) or that an operator purged now."""

from __future__ import annotations

from kernel.actor import SYSTEM
from kernel.door import call
from kernel.tasks import durable
from organizations import deletion


@durable(max_attempts=3)
def purge_due_organizations() -> int:
    """Purge every organization whose deletion date has passed; how many. A run stopped
    halfway (a crash, a deploy) leaves whole batches deleted; the next run resumes."""
    purged: int = call(deletion.purge_due, SYSTEM)
    return purged


@durable(max_attempts=8)
def purge_organization(organization_id: int, operator_id: int | None = None) -> bool:
    """Purge one organization an operator made due now (the same code path as the
    periodic purge); False if it is not due any more (restored meanwhile)."""
    return deletion.purge(organization_id, operator_id=operator_id)

"""The export tasks: writing a requested export, and the hourly prune of expired ones
(organizations/exports.py holds the functions they call through the door)."""

from __future__ import annotations

from kernel.actor import SYSTEM
from kernel.door import call
from kernel.tasks import durable


@durable(max_attempts=3)
def build_export(export_id: int) -> None:
    """A failure to write marks the export failed (the requester may ask again); only an
    error before that (the database unreachable) is retried."""
    from organizations.exports import export_build

    call(export_build, SYSTEM, {"export_id": export_id})


@durable(max_attempts=3)
def prune_exports() -> int:
    from organizations.exports import export_prune

    pruned: int = call(export_prune, SYSTEM)
    return pruned

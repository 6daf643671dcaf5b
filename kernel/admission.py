"""What an organization's status and policies allow, checked once for every actor the
resolver builds (kernel/actors.py): a request, an API key, a socket's re-check, a job,
and the re-read inside a mutation. No transport checks these itself.

    suspended          nobody acts in it: `suspended`, with the operator's reason
    pending_deletion   nobody acts in it: `pending_deletion`; its owners may restore it
                       (a personal mutation, organizations.restore, which asks no Actor)
"""

from __future__ import annotations

from typing import Final

from django.conf import settings

from kernel import errors
from kernel.actor import Actor
from kernel.sources import OrganizationState, OrganizationStatus

ACTIVE: Final = OrganizationState(0)


def admit(actor: Actor, state: OrganizationState) -> Actor:
    """`actor`, if its organization lets it act now; else the AppError saying why."""
    if state.status is OrganizationStatus.SUSPENDED:
        raise errors.suspended(suspended_message(state))
    if state.status is OrganizationStatus.PENDING_DELETION:
        raise errors.pending_deletion(
            pending_deletion_message(state), organization_id=state.organization_id
        )
    return actor


def suspended_message(state: OrganizationState) -> str:
    reason = f" Reason: {state.reason.rstrip('.')}." if state.reason else ""
    return (
        f"This organization is suspended.{reason} "
        f"Contact {settings.SUPPORT_EMAIL} to have it reactivated."
    )


def pending_deletion_message(state: OrganizationState) -> str:
    when = f" on {state.deletion_due_at:%d %B %Y}" if state.deletion_due_at else ""
    return (
        f"This organization is scheduled for deletion{when}. Its owners can restore it until then."
    )

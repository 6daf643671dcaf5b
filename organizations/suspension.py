"""Operators suspend and reactivate organizations (the operators' admin calls these).

    call(organization_suspend, operator, {"organization_id": 7, "reason": "Unpaid invoices"})
    call(organization_reactivate, operator, {"organization_id": 7, "reason": "Paid"})

Suspending changes one row: the organization's status. Nothing is deleted or revoked, so
reactivating gives back everything as it was — members, invitations, API keys, data. The
kernel enforces the status for every transport (kernel/admission.py): members see the
suspended page with the reason and whom to contact, API keys and sockets get `suspended`;
webhooks (System principals) still apply. The change of the organization's row re-checks
every live subscriber at once (kernel/live/hub.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final

from django.utils import timezone
from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict

from kernel import audit, errors
from kernel.actor import System
from kernel.functions import mutation
from kernel.inputs import Input, Name
from organizations.models import Organization
from organizations.staff import require_operator

SUSPEND: Final = "organization.suspend"
REACTIVATE: Final = "organization.reactivate"
"""Their audit actions (labels in organizations/audit.py)."""

REASON_MIN, REASON_MAX = 10, 254
OperatorReason = Annotated[str, Name(min_length=REASON_MIN, max_length=REASON_MAX)]
"""Why an operator acts, in a sentence: the audit log keeps it, and a suspension's is
shown to the organization's members."""


class StatusChange(Input):
    organization_id: int
    reason: OperatorReason


class OrganizationStatusOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    status: Organization.Status
    status_reason: str
    status_changed_at: datetime | None


def _organization(organization_id: int) -> Organization:
    # Operators act across organizations; the row is locked for the status change.
    found = Organization.objects.select_for_update().filter(pk=organization_id).first()
    if found is None:
        raise errors.not_found(_("There is no such organization."))
    return found


@mutation("organizations.suspend", internal=True, output=OrganizationStatusOut, audit=SUSPEND)
def organization_suspend(*, actor: System, args: StatusChange) -> Organization:
    """Operators only (System with operator_id, an active staff member). An active
    organization becomes `suspended` with the reason its members are shown; `conflict`
    if it is already suspended or scheduled for deletion; `not_found` if it is gone."""
    require_operator(actor)
    organization = _organization(args.organization_id)
    if organization.status == Organization.Status.SUSPENDED:
        raise errors.conflict(_("%(name)s is already suspended.") % {"name": organization.name})
    if organization.status == Organization.Status.PENDING_DELETION:
        raise errors.conflict(
            _("%(name)s is scheduled for deletion: restore it first, or purge it.")
            % {"name": organization.name}
        )
    _set_status(organization, Organization.Status.SUSPENDED, args.reason)
    audit.describe(
        target=organization.name,
        target_type="organization",
        target_id=organization.pk,
        organization_id=organization.pk,
        note=args.reason,
    )
    return organization


@mutation("organizations.reactivate", internal=True, output=OrganizationStatusOut, audit=REACTIVATE)
def organization_reactivate(*, actor: System, args: StatusChange) -> Organization:
    """Operators only. A suspended organization becomes `active` again, exactly as it was
    (nothing was removed); `conflict` if it is not suspended; `not_found` if it is gone."""
    require_operator(actor)
    organization = _organization(args.organization_id)
    if organization.status != Organization.Status.SUSPENDED:
        raise errors.conflict(_("%(name)s is not suspended.") % {"name": organization.name})
    previous = organization.status_reason
    _set_status(organization, Organization.Status.ACTIVE, "")
    audit.describe(
        target=organization.name,
        target_type="organization",
        target_id=organization.pk,
        organization_id=organization.pk,
        note=args.reason,
        suspended_for=previous,
    )
    return organization


def _set_status(organization: Organization, status: Organization.Status, reason: str) -> None:
    organization.status = status
    organization.status_reason = reason
    organization.status_changed_at = timezone.now()
    organization.save(update_fields=["status", "status_reason", "status_changed_at"])

"""The organization audit log: a closed catalogue of actions and one way to write them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final

from django.dispatch import receiver
from django.utils.translation import gettext_lazy

from accounts.models import User
from kernel import audit as kernel_audit
from kernel.actor import Actor, Person, Principal, System
from kernel.audit import Entry
from kernel.errors import AppError, ErrorCode
from kernel.functions import Function, function_refused
from kernel.manifest import AuditLabel
from kernel.outcomes import Outcome
from kernel.sensitive import SENSITIVE_ACTIONS
from organizations.models import AuditEvent


class AuditAction(StrEnum):
    ORGANIZATION_CREATE = "organization.create"
    ORGANIZATION_RENAME = "organization.rename"
    ORGANIZATION_DELETE = "organization.delete"
    ORGANIZATION_TRANSFER = "organization.transfer"
    MEMBER_ADD = "member.add"
    MEMBER_UPDATE_ROLE = "member.update_role"
    MEMBER_REMOVE = "member.remove"
    MEMBER_LEAVE = "member.leave"
    INVITATION_CREATE = "invitation.create"
    INVITATION_RESEND = "invitation.resend"
    INVITATION_REVOKE = "invitation.revoke"
    INVITATION_ACCEPT = "invitation.accept"
    INVITATION_DECLINE = "invitation.decline"
    STEP_UP = "step_up"
    API_KEY_CREATE = "api_key.create"
    API_KEY_REVOKE = "api_key.revoke"
    GRANT_CREATE = "billing.grant_create"
    GRANT_REVOKE = "billing.grant_revoke"
    PROVIDER_EVENT = "billing.provider_event"
    SUBSCRIPTION_RECONCILE = "billing.subscription_reconcile"
    ORGANIZATION_SCHEDULE_DELETION = "organization.schedule_deletion"
    ORGANIZATION_RESTORE = "organization.restore"
    ORGANIZATION_PURGE = "organization.purge"
    ORGANIZATION_POLICY_UPDATE = "organization.policy_update"
    EXPORT_REQUEST = "export.request"
    EXPORT_DOWNLOAD = "export.download"


def _sensitive_action(name: str) -> str:
    entry = SENSITIVE_ACTIONS.get(name)
    return str(entry.description) if entry is not None else name


AUDIT_LABELS: Final[dict[str, AuditLabel]] = {
    AuditAction.ORGANIZATION_CREATE: AuditLabel(
        gettext_lazy("created the organization “{target}”"), gettext_lazy("create an organization")
    ),
    AuditAction.ORGANIZATION_RENAME: AuditLabel(
        gettext_lazy("renamed the organization “{previous}” to “{target}”"),
        gettext_lazy("rename the organization"),
    ),
    AuditAction.ORGANIZATION_DELETE: AuditLabel(
        gettext_lazy("deleted the organization"), gettext_lazy("delete the organization")
    ),
    AuditAction.ORGANIZATION_TRANSFER: AuditLabel(
        gettext_lazy("transferred ownership to {target}"), gettext_lazy("transfer ownership")
    ),
    AuditAction.MEMBER_ADD: AuditLabel(
        gettext_lazy("added {target} as {role}"), gettext_lazy("add a member")
    ),
    AuditAction.MEMBER_UPDATE_ROLE: AuditLabel(
        gettext_lazy("changed {target}'s role from {previous} to {role}"),
        gettext_lazy("change a member's role"),
    ),
    AuditAction.MEMBER_REMOVE: AuditLabel(
        gettext_lazy("removed {target}"), gettext_lazy("remove a member")
    ),
    AuditAction.MEMBER_LEAVE: AuditLabel(
        gettext_lazy("left the organization"), gettext_lazy("leave the organization")
    ),
    AuditAction.INVITATION_CREATE: AuditLabel(
        gettext_lazy("invited {target} as {role}"), gettext_lazy("invite someone")
    ),
    AuditAction.INVITATION_RESEND: AuditLabel(
        gettext_lazy("resent the invitation to {target}"), gettext_lazy("resend an invitation")
    ),
    AuditAction.INVITATION_REVOKE: AuditLabel(
        gettext_lazy("revoked the invitation to {target}"), gettext_lazy("revoke an invitation")
    ),
    AuditAction.INVITATION_ACCEPT: AuditLabel(
        gettext_lazy("accepted the invitation and joined as {role}"),
        gettext_lazy("accept an invitation"),
    ),
    AuditAction.INVITATION_DECLINE: AuditLabel(
        gettext_lazy("declined the invitation"), gettext_lazy("decline an invitation")
    ),
    AuditAction.STEP_UP: AuditLabel(
        gettext_lazy("confirmed it was them, to {target}"),
        gettext_lazy("confirm it was them, to {target}"),
        target=_sensitive_action,
        name=gettext_lazy("Confirm it was them"),
    ),
    AuditAction.API_KEY_CREATE: AuditLabel(
        gettext_lazy("created API key “{target}”"), gettext_lazy("create an API key")
    ),
    AuditAction.API_KEY_REVOKE: AuditLabel(
        gettext_lazy("revoked API key “{target}”"), gettext_lazy("revoke an API key")
    ),
    # organizations/suspension.py (operators)
    "organization.suspend": AuditLabel(
        gettext_lazy("suspended the organization: “{note}”"),
        gettext_lazy("suspend the organization"),
    ),
    "organization.reactivate": AuditLabel(
        gettext_lazy("reactivated the organization: “{note}”"),
        gettext_lazy("reactivate the organization"),
    ),
    AuditAction.ORGANIZATION_SCHEDULE_DELETION: AuditLabel(
        gettext_lazy("scheduled the organization's deletion on {due}"),
        gettext_lazy("delete the organization"),
    ),
    AuditAction.ORGANIZATION_RESTORE: AuditLabel(
        gettext_lazy("restored the organization"), gettext_lazy("restore the organization")
    ),
    AuditAction.ORGANIZATION_PURGE: AuditLabel(
        gettext_lazy("ordered the organization purged now"), gettext_lazy("purge the organization")
    ),
    AuditAction.ORGANIZATION_POLICY_UPDATE: AuditLabel(
        gettext_lazy("changed the security policies ({changed})"),
        gettext_lazy("change the security policies"),
    ),
    AuditAction.EXPORT_REQUEST: AuditLabel(
        gettext_lazy("requested an export of the organization's data"),
        gettext_lazy("export the organization's data"),
    ),
    AuditAction.EXPORT_DOWNLOAD: AuditLabel(
        gettext_lazy("downloaded the data export of {created}"),
        gettext_lazy("download a data export"),
    ),
}
"""This domain's audit actions in words (the manifest lists them; billing names its own)."""


def actor_label(actor: Principal | None, user: User | None) -> str:
    if user is not None:
        return user.email
    if isinstance(actor, System):
        return actor.label
    if isinstance(actor, Actor) and actor.api_key_id is not None:
        from organizations.models import ApiKey

        # The acting key, by its own id (the actor's organization's).
        name = ApiKey.objects.unscoped().filter(pk=actor.api_key_id).values_list("name", flat=True)
        return f"API key “{name.first() or 'deleted'}” (#{actor.api_key_id})"
    return "system"


def _operator(actor: Principal | None) -> User | None:
    """The staff user behind this call: an impersonation's, or the admin's."""
    if isinstance(actor, Actor | Person):
        operator_id = actor.auth.operator_id
    elif isinstance(actor, System):
        operator_id = actor.operator_id
    else:
        operator_id = None
    return User.objects.filter(pk=operator_id).first() if operator_id else None


def audit(
    *,
    organization_id: int,
    action: str,
    actor: Principal | None,
    result: Outcome = Outcome.SUCCESS,
    target: str = "",
    target_type: str = "",
    target_id: str = "",
    reason: str = "",
    permission: str = "",
    **detail: Any,
) -> AuditEvent:
    """Record one event. Call it inside the mutation, so it commits with the change.
    `reason`: for a refusal or failure, why, in words the log shows."""
    user_id = actor.user_id if isinstance(actor, Actor | Person) else None
    user = User.objects.filter(pk=user_id).first() if user_id else None
    operator = _operator(actor)
    return AuditEvent.objects.create(
        organization_id=organization_id,
        actor=user,
        actor_label=actor_label(actor, user),
        api_key_id=actor.api_key_id if isinstance(actor, Actor) else None,
        operator=operator,
        operator_label=operator.email if operator is not None else "",
        action=action,
        target=target[:254],
        target_type=target_type,
        target_id=target_id,
        result=result,
        reason=reason[:254],
        permission=permission,
        ip_address=actor.auth.client_ip if isinstance(actor, Actor | Person) else None,
        detail=detail,
    )


class OrganizationAuditLog:
    """The kernel's audit log (kernel/audit.py): each audited mutation's one row, in the
    organization it acted in."""

    def write(self, principal: Principal, entry: Entry) -> None:
        organization_id = entry.organization_id
        if organization_id is None and isinstance(principal, Actor):
            organization_id = principal.organization_id
        if organization_id is None:
            raise ValueError(
                f"{entry.action}: a {type(principal).__name__} names the organization "
                "(kernel.audit.describe(organization_id=...))"
            )
        audit(
            organization_id=organization_id,
            action=entry.action,
            actor=principal,
            target=entry.target,
            target_type=entry.target_type,
            target_id=entry.target_id,
            **entry.detail,
        )


@receiver(function_refused)
def audit_refusal(
    sender: Any, function: Function, principal: Principal, error: AppError, **kwargs: Any
) -> None:
    """A refused mutation that declares `audit=` is recorded after its transaction rolled
    back, so the refusal is kept: the permission it needs, the reason, and its target if
    the body had found it in the actor's organization before refusing. Missing objects
    are not recorded (a row would say nothing, or hint at another organization's)."""
    if function.audit is None or not isinstance(principal, Actor):
        return
    if error.code == ErrorCode.NOT_FOUND:
        return
    entry = kernel_audit.refused() or Entry(function.audit)
    audit(
        organization_id=principal.organization_id,
        action=entry.action,
        actor=principal,
        permission=function.permission or "",
        result=AuditEvent.Result.DENIED
        if error.code in (ErrorCode.FORBIDDEN, ErrorCode.STEP_UP_REQUIRED)
        else AuditEvent.Result.FAILURE,
        reason=error.message,
        target=entry.target,
        target_type=entry.target_type,
        target_id=entry.target_id,
        code=error.code.value,
    )

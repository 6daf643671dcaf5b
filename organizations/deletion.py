"""Soft deletion: an organization deleted by its owners waits ORGANIZATION_DELETION_GRACE_DAYS
in `pending_deletion`, then the purge task deletes it in batches.

    schedule(organization, by=...)        # organization.delete (mutations.py), an account's
                                          # deletion (receivers.py), an operator's purge
    organizations.restore                 # an owner, until the date (Person: admission
                                          # refuses every Actor in the organization)
    organizations.restore_by_operator     # the operators' admin, with a reason
    organizations.purge_by_operator       # the operators' admin: due now, purge enqueued
    purge(organization_id)                # the task (organizations/tasks.py): batches of
                                          # ORGANIZATION_PURGE_BATCH_SIZE tenant rows, each
                                          # its own transaction, then the organization row

While it waits, kernel/admission.py refuses everyone in it with `pending_deletion`; its
owners' page is the restore page (`pending_deletion_page`). Its subscriptions are
cancelled when it is scheduled (the `organization_deletion_scheduled` signal: billing
writes what the provider owes in that transaction) and stay cancelled after a restore.

The organization's own audit log goes with it, so the purge's record is kept outside it:
one row in each owner's account security log (`organization.purge`), which outlives the
organization and, with the address copied, the account (docs/operations.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from pydantic import Field

from accounts.audit import record_security_event
from accounts.models import SecurityEvent, User
from kernel import audit, errors
from kernel.actor import SYSTEM, Person, System
from kernel.door import call
from kernel.errors import AppError, ErrorCode
from kernel.functions import action, mutation, query
from kernel.inputs import Input
from kernel.permissions import Role
from kernel.rendering import error_page
from kernel.tenancy import TenantModel
from organizations.audit import AuditAction
from organizations.models import AuditEvent, Membership, Organization
from organizations.schemas import OrganizationOut, Output
from organizations.signals import organization_deleted, organization_deletion_scheduled
from organizations.staff import require_operator

PENDING = Organization.Status.PENDING_DELETION


class OrganizationRef(Input):
    organization_id: int


class OperatorDecision(Input):
    organization_id: int
    reason: str = Field(min_length=1, max_length=200, description="Why, for the audit log")


class PurgeRequest(Input):
    organization_id: int
    operator_id: int | None = None


# --- scheduling -----------------------------------------------------------------------------


def schedule(organization: Organization, *, by: str, due_at: datetime | None = None) -> None:
    """Internal, inside the caller's transaction: put `organization` in `pending_deletion`
    until `due_at` (default: the grace period from now) and cancel its billing now.
    `by`: who and why, in words (kept on the row, and in the purge's final record)."""
    now = timezone.now()
    organization.status = PENDING
    organization.status_reason = by[:254]
    organization.status_changed_at = now
    organization.deletion_due_at = due_at or now + timedelta(
        days=settings.ORGANIZATION_DELETION_GRACE_DAYS
    )
    organization.save(
        update_fields=["status", "status_reason", "status_changed_at", "deletion_due_at"]
    )
    organization_deletion_scheduled.send(sender=Organization, organization_id=organization.pk)


# --- restoring ------------------------------------------------------------------------------


class PendingDeletionOut(Output):
    organization: OrganizationOut
    due_at: datetime | None
    restorable: bool = Field(description="Still before its date (then the purge may begin)")


def _owned_pending(person: Person, organization_id: int) -> Organization:
    """The organization, if `person` is one of its owners: `not_found` if they are not a
    member (as for a missing one), `forbidden` if they are one without being an owner."""
    membership = (
        Membership.objects.for_organization(organization_id)
        .select_related("organization")
        .filter(user_id=person.user_id)
        .first()
    )
    if membership is None:
        raise errors.not_found(_("There is no such organization."))
    if membership.role != Role.OWNER:
        raise errors.forbidden(_("Only the organization's owners can restore it."))
    return membership.organization


@query("organizations.pending_deletion", personal=True, output=PendingDeletionOut)
def pending_deletion_get(*, actor: Person, args: OrganizationRef) -> dict[str, Any]:
    """Owners of the organization only (a Person: admission refuses any Actor in it).
    `conflict` if it is not scheduled for deletion."""
    organization = _owned_pending(actor, args.organization_id)
    if organization.status != PENDING:
        raise errors.conflict(
            _("%(name)s is not scheduled for deletion.") % {"name": organization.name}
        )
    due = organization.deletion_due_at
    restorable = due is None or due > timezone.now()
    return {"organization": organization, "due_at": due, "restorable": restorable}


def _restore(organization: Organization) -> None:
    if organization.status != PENDING:
        raise errors.conflict(
            _("%(name)s is not scheduled for deletion.") % {"name": organization.name}
        )
    due = organization.deletion_due_at
    if due is not None and due <= timezone.now():
        raise errors.conflict(
            _("%(name)s was due for deletion on %(due)s: it can no longer be restored.")
            % {"name": organization.name, "due": date_format(due, "d F Y")}
        )
    organization.status = Organization.Status.ACTIVE
    organization.status_reason = ""
    organization.status_changed_at = timezone.now()
    organization.deletion_due_at = None
    organization.save(
        update_fields=["status", "status_reason", "status_changed_at", "deletion_due_at"]
    )


@mutation(
    "organizations.restore",
    personal=True,
    step_up="organization.restore",
    output=OrganizationOut,
    audit=AuditAction.ORGANIZATION_RESTORE,
)
def organization_restore(*, actor: Person, args: OrganizationRef) -> Organization:
    """An owner cancels the organization's deletion, before its date; step-up level 2.
    Personal (no Actor can act in it meanwhile): ownership is checked here, `not_found`
    for a non-member. Its subscriptions stay cancelled: the owners choose a plan again."""
    organization = _owned_pending(actor, args.organization_id)
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    _restore(organization)
    audit.describe(
        organization_id=organization.pk,
        target=organization.name,
        target_type="organization",
        target_id=organization.pk,
    )
    return organization


@mutation(
    "organizations.restore_by_operator",
    internal=True,
    output=OrganizationOut,
    audit=AuditAction.ORGANIZATION_RESTORE,
)
def organization_restore_by_operator(*, actor: System, args: OperatorDecision) -> Organization:
    """An operator (the admin) restores an organization scheduled for deletion, before its
    date, with a reason; audited in its log with the operator."""
    require_operator(actor)
    organization = _by_id(args.organization_id)
    _restore(organization)
    audit.describe(
        organization_id=organization.pk,
        target=organization.name,
        target_type="organization",
        target_id=organization.pk,
        why=args.reason,
    )
    return organization


@mutation(
    "organizations.purge_by_operator",
    internal=True,
    output=OrganizationOut,
    audit=AuditAction.ORGANIZATION_PURGE,
)
def organization_purge_by_operator(*, actor: System, args: OperatorDecision) -> Organization:
    """An operator (the admin) purges an organization now, with a reason: it becomes due
    at once (its billing cancelled, if it was active) and the purge task, enqueued in this
    transaction, deletes it by the same code path as at the end of a grace period. The
    organization's log records the order; the final record names the operator."""
    require_operator(actor)
    organization = _by_id(args.organization_id)
    by = f"Purged by an operator: {args.reason}"
    if organization.status != PENDING:
        schedule(organization, by=by, due_at=timezone.now())
    else:
        organization.deletion_due_at = timezone.now()
        organization.status_reason = by[:254]
        organization.save(update_fields=["deletion_due_at", "status_reason"])
    audit.describe(
        organization_id=organization.pk,
        target=organization.name,
        target_type="organization",
        target_id=organization.pk,
        why=args.reason,
    )
    from organizations.tasks import purge_organization  # the task module imports this one

    purge_organization.enqueue(organization.pk, actor.operator_id)
    return organization


def _by_id(organization_id: int) -> Organization:
    organization = Organization.objects.select_for_update().filter(pk=organization_id).first()
    if organization is None:
        raise errors.not_found(_("There is no such organization."))
    return organization


# --- purging --------------------------------------------------------------------------------


def purge(organization_id: int, *, operator_id: int | None = None) -> bool:
    """Internal (the task): delete a due organization, its tenant rows in batches of
    ORGANIZATION_PURGE_BATCH_SIZE (each its own transaction, so no statement locks or
    cascades a whole organization at once), then its row with its final record. Stops as
    soon as it is not due (restored, or never scheduled). True if it was purged. A purge
    interrupted halfway resumes where it stopped at the next run."""
    reference = PurgeRequest(organization_id=organization_id, operator_id=operator_id)
    while True:
        deleted: int | None = call(purge_batch, SYSTEM, reference)
        if deleted is None:
            return False
        if deleted == 0:
            break
    purged: bool = call(purge_finish, SYSTEM, reference)
    return purged


def _due(organization_id: int) -> Organization | None:
    organization = Organization.objects.select_for_update().filter(pk=organization_id).first()
    if organization is None or organization.status != PENDING:
        return None
    due = organization.deletion_due_at
    return organization if due is not None and due <= timezone.now() else None


def purged_models() -> list[type[TenantModel]]:
    """The tenant tables the purge empties batch by batch: rows that point at other tenant
    rows first (so no cascade from a batch reaches far), the audit log last (kept while
    anything else remains). Memberships go with the organization's row, at the end: the
    final record names the owners they say."""
    tenant = [
        model
        for model in apps.get_models()
        if issubclass(model, TenantModel) and model is not Membership
    ]

    def parents(model: type[models.Model]) -> set[type[models.Model]]:
        return {
            field.related_model
            for field in model._meta.get_fields()
            if isinstance(field, models.ForeignKey)
            and isinstance(field.related_model, type)
            and field.related_model in tenant
            and field.related_model is not model
        }

    ordered: list[type[TenantModel]] = []

    def visit(model: type[TenantModel], seen: frozenset[type[models.Model]]) -> None:
        if model in ordered or model in seen:
            return
        for child in tenant:
            if model in parents(child):
                visit(child, seen | {model})
        ordered.append(model)

    for model in sorted(tenant, key=lambda m: m._meta.label):
        visit(model, frozenset())
    ordered.sort(key=lambda model: model is AuditEvent)  # stable: the log last
    return ordered


def _batches(organization_id: int) -> Iterator[models.QuerySet[Any]]:
    for model in purged_models():
        yield model.objects.for_organization(organization_id)


@mutation(
    "organizations.purge_batch",
    internal=True,
    output=int | None,
    unaudited="deletes a due organization's rows, whose log goes with them: the owners' "
    "security logs keep the final record (purge_finish)",
)
def purge_batch(*, actor: System, args: PurgeRequest) -> int | None:
    """Delete up to ORGANIZATION_PURGE_BATCH_SIZE rows of the first tenant table that still
    has rows of the organization; how many went (0: none left), None if it is not due."""
    if _due(args.organization_id) is None:
        return None
    size = settings.ORGANIZATION_PURGE_BATCH_SIZE
    for rows in _batches(args.organization_id):
        ids = list(rows.order_by("pk").values_list("pk", flat=True)[:size])
        if ids:
            rows.filter(pk__in=ids).delete()
            return len(ids)
    return 0


@mutation(
    "organizations.purge_finish",
    internal=True,
    output=bool,
    unaudited="deletes the organization with its log: the final record goes to each "
    "owner's account security log, outside the organization",
)
def purge_finish(*, actor: System, args: PurgeRequest) -> bool:
    """Delete the organization's row (with its memberships and anything the batches did
    not reach) and write the final record in each owner's account security log."""
    organization = _due(args.organization_id)
    if organization is None:
        return False
    operator = User.objects.filter(pk=args.operator_id).first() if args.operator_id else None
    owners = [
        membership.user
        for membership in Membership.objects.for_organization(organization.pk)
        .filter(role=Role.OWNER)
        .select_related("user")
    ]
    detail: dict[str, Any] = {
        "organization_id": organization.pk,
        "organization_name": organization.name,
        "scheduled_at": _iso(organization.status_changed_at),
        "due_at": _iso(organization.deletion_due_at),
        "scheduled_by": organization.status_reason,
        "purged_by": f"operator {operator.email}" if operator else "the deletion task",
    }
    recipients: list[User | None] = list(owners) or [None]  # no owner left: one record anyway
    for owner in recipients:
        record_security_event(
            request=None,
            user=owner,
            kind=AuditAction.ORGANIZATION_PURGE,
            result=SecurityEvent.Result.SUCCESS,
            **detail,
        )
    if operator is not None:
        record_security_event(
            request=None,
            user=operator,
            kind=AuditAction.ORGANIZATION_PURGE,
            result=SecurityEvent.Result.SUCCESS,
            **detail,
        )
    organization_id, name = organization.pk, organization.name
    organization.delete()
    transaction.on_commit(
        lambda: organization_deleted.send(
            sender=Organization, organization_id=organization_id, name=name
        )
    )
    return True


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


@action("organizations.purge_due", internal=True, output=int)
def purge_due(*, actor: System) -> int:
    """The periodic task's work: purge every organization whose date has passed, the
    oldest first; how many it purged."""
    due = (
        Organization.objects.filter(status=PENDING, deletion_due_at__lte=timezone.now())
        .order_by("deletion_due_at", "pk")
        .values_list("pk", flat=True)
    )
    return sum(1 for organization_id in list(due) if purge(organization_id))


# --- the owners' page -----------------------------------------------------------------------


@error_page(ErrorCode.PENDING_DELETION)
def pending_deletion_page(request: HttpRequest, error: AppError) -> HttpResponse | None:
    """The `pending_deletion` refusal as its owners see it: the restore page (403: they
    cannot act in it either). None for anyone else: the generic refusal."""
    organization_id = error.organization_id
    user = getattr(request, "user", None)
    if organization_id is None or user is None or not user.is_authenticated:
        return None
    try:
        pending = call(pending_deletion_get, request, {"organization_id": organization_id})
    except AppError:
        return None
    response = TemplateResponse(
        request,
        "organizations/pending_deletion.html",
        restore_context(pending),
        status=error.status,
    )
    return response.render()


def restore_context(pending: PendingDeletionOut) -> dict[str, Any]:
    return {
        "organization": pending.organization,
        "due_at": pending.due_at,
        "restorable": pending.restorable,
        "support_email": settings.SUPPORT_EMAIL,
    }

"""Writes of workspace records: SERIALIZABLE, retried, permission-checked."""

from __future__ import annotations

from billing.entitlements import plan_names, record_limit
from kernel import errors
from kernel.actor import Actor
from kernel.guard import require_app_permission
from kernel.mutations import mutation
from workspace_records.models import RecordStatus, WorkspaceRecord
from workspace_records.validation import body_or_error, title_or_error


def _record(actor: Actor, record_id: int) -> WorkspaceRecord:
    try:
        return WorkspaceRecord.objects.for_actor(actor).get(pk=record_id)
    except WorkspaceRecord.DoesNotExist:
        raise errors.not_found("There is no such record.") from None


def _status(value: str) -> RecordStatus:
    try:
        return RecordStatus(value)
    except ValueError:
        choices = ", ".join(RecordStatus.values)
        raise errors.invalid_input(fields={"status": [f"Choose one of: {choices}."]}) from None


@mutation
def record_create(
    *, actor: Actor, title: str, body: str = "", status: str = RecordStatus.OPEN
) -> WorkspaceRecord:
    """Permission: workspace.records.create. Raises `invalid_input`, and `plan_limit` past
    the plan's record limit (checked in the same transaction as the insert)."""
    require_app_permission(actor, "workspace.records.create")
    clean_title, clean_status = title_or_error(title), _status(status)
    clean_body = body_or_error(body)
    limit = record_limit(actor.organization_id)
    if limit is not None and WorkspaceRecord.objects.for_actor(actor).count() >= limit:
        current, upgrade = plan_names(actor.organization_id)
        raise errors.plan_limit(
            f"The {current} plan keeps up to {limit} records. Upgrade to {upgrade} for more."
        )
    return WorkspaceRecord.objects.create(
        organization_id=actor.organization_id,
        title=clean_title,
        body=clean_body,
        status=clean_status,
        created_by_id=actor.user_id,
    )


@mutation
def record_update(
    *,
    actor: Actor,
    record_id: int,
    title: str | None = None,
    body: str | None = None,
    status: str | None = None,
) -> WorkspaceRecord:
    """Permission: workspace.records.update. Only the given fields change."""
    require_app_permission(actor, "workspace.records.update")
    record = _record(actor, record_id)
    if title is not None:
        record.title = title_or_error(title)
    if body is not None:
        record.body = body_or_error(body)
    if status is not None:
        record.status = _status(status)
    record.save()
    return record


@mutation
def record_set_status(*, actor: Actor, record_id: int, status: str) -> WorkspaceRecord:
    """Permission: workspace.records.update."""
    return record_update(actor=actor, record_id=record_id, status=status)


@mutation
def record_delete(*, actor: Actor, record_id: int) -> None:
    """Permission: workspace.records.delete."""
    require_app_permission(actor, "workspace.records.delete")
    _record(actor, record_id).delete()

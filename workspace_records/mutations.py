"""Writes of workspace records, registered with the kernel: SERIALIZABLE, retried, the
actor re-read inside the transaction (kernel/door.py)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from kernel import audit
from kernel.actor import Actor
from kernel.functions import mutation
from kernel.limits import require_within_limit
from kernel.tenancy import get_for_actor
from kernel.versions import require_version, save_version
from workspace_records.models import WorkspaceRecord
from workspace_records.schemas import RecordCreate, RecordOut, RecordRef, RecordUpdate

RECORDS = "workspace.records"


@mutation(
    "records.create",
    permission="workspace.records.create",
    output=RecordOut,
    counts=RECORDS,
    audit="record.create",
)
def record_create(*, actor: Actor, args: RecordCreate) -> WorkspaceRecord:
    """`plan_limit` past the plan's record limit (counted in the same transaction as the
    insert, so two creates cannot both take the last one)."""
    used = WorkspaceRecord.objects.for_actor(actor).count()
    require_within_limit(actor, RECORDS, used=used)
    record = WorkspaceRecord.objects.create(
        organization_id=actor.organization_id,
        title=args.title,
        body=args.body,
        status=args.status,
        created_by_id=actor.user_id,
    )
    audit.describe(target=record.title, target_type="record", target_id=record.pk)
    return record


@mutation(
    "records.update",
    permission="workspace.records.update",
    output=RecordOut,
    audit="record.update",
)
def record_update(*, actor: Actor, args: RecordUpdate) -> WorkspaceRecord:
    """Only the given fields change; `conflict` if the record changed since `version`."""
    record = get_for_actor(
        WorkspaceRecord, args.record_id, actor, message=_("There is no such record.")
    )
    audit.describe(target=record.title, target_type="record", target_id=record.pk)
    require_version(record, args.version)
    changed = []
    for field in ("title", "body", "status"):
        value = getattr(args, field)
        if value is not None:
            if value != getattr(record, field):
                changed.append(field)
            setattr(record, field, value)
    save_version(record)
    audit.describe(
        target=record.title, target_type="record", target_id=record.pk, fields=", ".join(changed)
    )
    return record


@mutation("records.delete", permission="workspace.records.delete", audit="record.delete")
def record_delete(*, actor: Actor, args: RecordRef) -> None:
    record = get_for_actor(
        WorkspaceRecord, args.record_id, actor, message=_("There is no such record.")
    )
    record_id = record.pk
    record.delete()
    audit.describe(target=record.title, target_type="record", target_id=record_id)

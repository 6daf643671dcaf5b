"""Writes of ${plural_words}, registered with the kernel: SERIALIZABLE, retried, the
actor re-read inside the transaction (kernel/door.py), each call's audit row written by
the door from what `audit.describe` says (kernel/audit.py)."""

from __future__ import annotations

from kernel import audit
from kernel.actor import Actor
from kernel.functions import mutation
from kernel.limits import require_within_limit
from kernel.tenancy import get_for_actor
from kernel.versions import require_version, save_version
from ${app}.models import ${model}
from ${app}.schemas import ${model}Create, ${model}Out, ${model}Ref, ${model}Update


@mutation(
    "${app}.create", permission="${app}.create", output=${model}Out, audit="${singular}.create"
)
def ${singular}_create(*, actor: Actor, args: ${model}Create) -> ${model}:
    """`plan_limit` past the plan's limit (counted in the same transaction)."""
    used = ${model}.objects.for_actor(actor).count()
    require_within_limit(actor, "${app}", used=used)
    row = ${model}.objects.create(
        organization_id=actor.organization_id,
        name=args.name,
        notes=args.notes,
        created_by_id=actor.user_id,
    )
    audit.describe(target=row.name, target_type="${singular}", target_id=row.pk)
    return row


@mutation(
    "${app}.update", permission="${app}.update", output=${model}Out, audit="${singular}.update"
)
def ${singular}_update(*, actor: Actor, args: ${model}Update) -> ${model}:
    """`conflict` if it changed since `version`."""
    row = get_for_actor(${model}, args.${ref}, actor)
    require_version(row, args.version)
    if args.name is not None:
        row.name = args.name
    if args.notes is not None:
        row.notes = args.notes
    save_version(row)
    audit.describe(target=row.name, target_type="${singular}", target_id=row.pk)
    return row


@mutation("${app}.delete", permission="${app}.delete", audit="${singular}.delete")
def ${singular}_delete(*, actor: Actor, args: ${model}Ref) -> None:
    row = get_for_actor(${model}, args.${ref}, actor)
    row_id = row.pk
    row.delete()
    audit.describe(target=row.name, target_type="${singular}", target_id=row_id)

"""Reads of ${plural_words}, registered with the kernel. Each reads the actor's
organization only."""

from __future__ import annotations

from django.db.models import QuerySet

from kernel.actor import Actor
from kernel.functions import query
from kernel.tenancy import get_for_actor
from ${app}.models import ${model}
from ${app}.schemas import ${model}Filters, ${model}Out, ${model}Ref

PAGE_SIZE = 100


@query(
    "${app}.list",
    permission="${app}.read",
    output=list[${model}Out],
    live=True,
    varies_by="permissions",
)
def ${singular}_list(*, actor: Actor, args: ${model}Filters) -> QuerySet[${model}]:
    """The newest first, at most PAGE_SIZE."""
    rows = ${model}.objects.for_actor(actor).order_by("-id")
    if args.search and args.search.strip():
        rows = rows.filter(name__icontains=args.search.strip())
    return rows[:PAGE_SIZE]


@query("${app}.get", permission="${app}.read", output=${model}Out)
def ${singular}_get(*, actor: Actor, args: ${model}Ref) -> ${model}:
    """Another organization's is `not_found`, like a missing one."""
    return get_for_actor(${model}, args.${ref}, actor)

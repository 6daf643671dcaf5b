"""Tenant tables that fail closed.

Every tenant model subclasses `TenantModel`: it has an indexed `organization` foreign key
(lead it in composite indexes) and `objects = TenantManager()`, whose normal path is

    Record.objects.for_actor(actor)            # the actor's organization only

A query without a scope raises `TenantScopeError` instead of returning every
organization's rows. Other scoped paths:

    get_for_actor(Record, record_id, actor)    # one row: `not_found` if missing or foreign
    with tenant_scope(organization_id):        # for code acting for one organization;
        Record.objects.filter(...)             # survives sync_to_async hops (a ContextVar)
    organization.records.all()                 # reverse relation from the organization

The escape hatch, `Record.objects.unscoped()`, is for operators' admin, migrations and
internal code, and is meant to stand out in review. `kernel/checks.py` fails if a tenant
model loses its manager.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from kernel.actor import Actor

_active_organization: ContextVar[int | None] = ContextVar("tenant_scope", default=None)


class TenantScopeError(RuntimeError):
    """A tenant table was queried without saying which organization it is for."""


@contextmanager
def tenant_scope(organization_id: int) -> Iterator[None]:
    """Scope default-manager queries on tenant tables to one organization."""
    token = _active_organization.set(organization_id)
    try:
        yield
    finally:
        _active_organization.reset(token)


class TenantManager[M: TenantModel](models.Manager[M]):
    def _all_organizations(self) -> models.QuerySet[M]:
        return super().get_queryset()

    def get_queryset(self) -> models.QuerySet[M]:
        organization_id = _active_organization.get()
        if organization_id is not None:
            return self._all_organizations().filter(organization_id=organization_id)
        if self._is_organization_relation():
            # organization.<related>.all(): Django's related manager adds the filter.
            return self._all_organizations()
        raise TenantScopeError(
            f"{self.model.__name__} is a tenant table: query it with "
            f"{self.model.__name__}.objects.for_actor(actor), inside tenant_scope(...), "
            f"or (operators and internal code only) .unscoped()."
        )

    def _is_organization_relation(self) -> bool:
        field = getattr(self, "field", None)  # set on reverse related managers only
        return (
            getattr(self, "instance", None) is not None
            and getattr(field, "name", None) == "organization"
        )

    def for_actor(self, actor: Actor) -> models.QuerySet[M]:
        """Rows of the actor's organization: the normal way to read a tenant table."""
        return self._all_organizations().filter(organization_id=actor.organization_id)

    def for_organization(self, organization_id: int) -> models.QuerySet[M]:
        """Rows of one organization, for internal code that has no actor (yet)."""
        return self._all_organizations().filter(organization_id=organization_id)

    def unscoped(self) -> models.QuerySet[M]:
        """DANGER: every organization's rows.

        Only for operators (the admin), migrations and internal jobs that must see all
        tenants. Never call this with input from a client.
        """
        return self._all_organizations()

    def create(self, **kwargs: Any) -> M:
        """Creating needs no scope, only an explicit organization."""
        if kwargs.get("organization") is None and kwargs.get("organization_id") is None:
            raise TenantScopeError(f"Creating a {self.model.__name__} needs its organization.")
        return self._all_organizations().create(**kwargs)

    def bulk_create(self, objs: Iterable[M], *args: Any, **kwargs: Any) -> list[M]:
        objs = list(objs)
        if any(getattr(obj, "organization_id", None) is None for obj in objs):
            raise TenantScopeError(f"Every new {self.model.__name__} needs its organization.")
        return self._all_organizations().bulk_create(objs, *args, **kwargs)


class TenantModel(models.Model):
    """Base for every table that belongs to one organization."""

    organization = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.CASCADE,
        related_name="%(app_label)s_%(class)s_set",
        db_index=True,
    )

    objects = TenantManager["TenantModel"]()

    class Meta:
        abstract = True


def get_for_actor[M: TenantModel](
    model: type[M],
    pk: object,
    actor: Actor,
    *,
    message: str | None = None,
    queryset: models.QuerySet[M] | None = None,
) -> M:
    """The actor's organization's row `pk`, else `not_found`: a missing row and another
    organization's look the same, so ids never reveal what exists. `queryset` narrows
    further (select_related, select_for_update); it is scoped to the actor regardless."""
    from django.utils.translation import gettext as _

    from kernel import errors

    manager: TenantManager[M] = model.objects
    rows = (queryset if queryset is not None else manager.for_actor(actor)).filter(
        organization_id=actor.organization_id
    )
    try:
        return rows.get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError):
        label = model._meta.verbose_name
        raise errors.not_found(
            message or _("There is no such %(thing)s.") % {"thing": label}
        ) from None

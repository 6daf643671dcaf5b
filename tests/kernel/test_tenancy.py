from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.db import models
from django.test.utils import isolate_apps

from kernel.checks import tenant_model_errors
from kernel.permissions import Role
from kernel.tenancy import TenantManager, TenantModel, TenantScopeError, tenant_scope
from organizations.models import Membership, Organization
from tests.conftest import actor_for
from tests.factories import MembershipFactory, OrganizationFactory


@pytest.fixture
def two_orgs(org: Organization, other_org: Organization) -> tuple[Membership, Membership]:
    mine = MembershipFactory(organization=org, role=Role.OWNER)
    MembershipFactory(organization=org, role=Role.MEMBER)
    theirs = MembershipFactory(organization=other_org, role=Role.OWNER)
    MembershipFactory(organization=other_org, role=Role.VIEWER)
    return mine, theirs


def test_for_actor_returns_only_the_actors_organization(two_orgs, org, other_org):
    mine, theirs = two_orgs

    rows = list(Membership.objects.for_actor(actor_for(mine)))

    assert len(rows) == 2
    assert {row.organization_id for row in rows} == {org.pk}
    assert not Membership.objects.for_actor(actor_for(mine)).filter(pk=theirs.pk).exists()


@pytest.mark.parametrize(
    "query",
    [
        lambda: list(Membership.objects.all()),
        lambda: Membership.objects.filter(role=Role.OWNER).count(),
        lambda: Membership.objects.get(pk=1),
        lambda: Membership.objects.exists(),
        lambda: Membership.objects.update(role=Role.VIEWER),
        lambda: Membership.objects.get_or_create(role=Role.VIEWER),
    ],
    ids=["all", "filter-count", "get", "exists", "update", "get_or_create"],
)
def test_a_query_without_scope_raises(two_orgs, query):
    with pytest.raises(TenantScopeError, match="tenant table"):
        query()


def test_the_explicit_unscoped_call_sees_every_organization(two_orgs, org, other_org):
    organizations = set(Membership.objects.unscoped().values_list("organization_id", flat=True))
    assert organizations == {org.pk, other_org.pk}


def test_tenant_scope_filters_default_manager_queries_and_resets(two_orgs, other_org):
    with tenant_scope(other_org.pk):
        assert set(Membership.objects.values_list("organization_id", flat=True)) == {other_org.pk}
    with pytest.raises(TenantScopeError):
        Membership.objects.count()


def test_reverse_relation_from_the_organization_is_scoped_by_it(two_orgs, org):
    assert {m.organization_id for m in org.memberships.all()} == {org.pk}


def test_reverse_relation_from_a_user_crosses_organizations_so_it_raises(two_orgs):
    mine, _ = two_orgs
    with pytest.raises(TenantScopeError):
        list(mine.user.memberships.all())


def test_creating_a_tenant_row_needs_its_organization(org):
    user = MembershipFactory(organization=org).user
    with pytest.raises(TenantScopeError, match="needs its organization"):
        Membership.objects.create(user=user, role=Role.MEMBER)
    with pytest.raises(TenantScopeError):
        Membership.objects.bulk_create([Membership(user=user, role=Role.MEMBER)])


def test_deleting_an_organization_deletes_its_rows_and_nothing_else(two_orgs, org, other_org):
    org.delete()
    assert not Membership.objects.unscoped().filter(organization_id=org.pk).exists()
    assert Membership.objects.unscoped().filter(organization_id=other_org.pk).count() == 2


@pytest.mark.django_db(transaction=True)
async def test_tenant_scope_survives_sync_to_async_hops():
    first = await sync_to_async(MembershipFactory)()
    second = await sync_to_async(MembershipFactory)()

    def organizations_in_scope() -> set[int]:
        return set(Membership.objects.values_list("organization_id", flat=True))

    with tenant_scope(first.organization_id):
        assert await sync_to_async(organizations_in_scope)() == {first.organization_id}
        assert await database_sync_to_async(organizations_in_scope)() == {first.organization_id}
    with tenant_scope(second.organization_id):
        assert await database_sync_to_async(organizations_in_scope)() == {second.organization_id}
    with pytest.raises(TenantScopeError):
        await database_sync_to_async(organizations_in_scope)()


def test_system_check_passes_for_the_project():
    from django.apps import apps

    assert tenant_model_errors(apps.get_models()) == []


@isolate_apps("organizations")
def test_system_check_fails_for_a_tenant_model_without_the_manager():
    class Leaky(TenantModel):
        objects = models.Manager()  # type: ignore[assignment]  # the mistake under test

        class Meta:
            app_label = "organizations"

    errors = tenant_model_errors([Leaky])
    assert [error.id for error in errors] == ["kernel.E001"]
    assert "does not fail closed" in errors[0].msg


@isolate_apps("organizations")
def test_system_check_fails_for_an_organization_table_that_is_not_a_tenant_model():
    class Unscoped(models.Model):
        organization = models.ForeignKey(Organization, on_delete=models.CASCADE)

        class Meta:
            app_label = "organizations"

    class Exempt(models.Model):
        tenant_exempt = "operators' cross-tenant report"
        organization = models.ForeignKey(Organization, on_delete=models.CASCADE)

        class Meta:
            app_label = "organizations"

    assert [error.id for error in tenant_model_errors([Unscoped, Exempt])] == ["kernel.E002"]


@isolate_apps("organizations")
def test_system_check_accepts_a_subclassed_tenant_manager():
    class CustomManager(TenantManager["Good"]):
        pass

    class Good(TenantModel):
        objects = CustomManager()

        class Meta:
            app_label = "organizations"

    assert tenant_model_errors([Good]) == []


def test_the_actor_scope_is_not_another_organizations_id(two_orgs):
    # Guard against a refactor that filters by user or pk instead of organization.
    mine, theirs = two_orgs
    OrganizationFactory()  # an organization with no rows
    assert theirs not in Membership.objects.for_actor(actor_for(mine))

"""Every role × permission pair through require_app_permission.

EXPECTED is written out by hand, not derived from the catalogue: a change to who may do
what has to be made twice, once here, on purpose.
"""

from __future__ import annotations

import dataclasses

import pytest
from asgiref.sync import sync_to_async
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from kernel.actor import Actor
from kernel.errors import AppError, ErrorCode
from kernel.guard import app_permission_required, has_app_permission, require_app_permission
from kernel.permissions import CATALOGUE, Role, UnknownPermissionError, role_permissions
from organizations.actors import ACTIVE_ORGANIZATION_SESSION_KEY
from tests.conftest import actor_for
from tests.factories import MembershipFactory, UserFactory

O, A, M, V = Role.OWNER, Role.ADMIN, Role.MEMBER, Role.VIEWER

EXPECTED: dict[str, set[Role]] = {
    "organization.read": {O, A, M, V},
    "organization.update": {O, A},
    "organization.delete": {O},
    "organization.transfer": {O},
    "member.read": {O, A, M, V},
    "member.invite": {O, A},
    "member.update_role": {O, A},
    "member.remove": {O, A},
    "invitation.read": {O, A},
    "invitation.cancel": {O, A},
    "billing.read": {O, A},
    "billing.manage": {O},
    "audit.read": {O, A},
    "api_keys.manage": {O, A},
    "workspace.records.read": {O, A, M, V},
    "workspace.records.create": {O, A, M},
    "workspace.records.update": {O, A, M},
    "workspace.records.delete": {O, A},
}

PAIRS = [(role, permission) for permission in EXPECTED for role in Role]


def test_the_catalogue_holds_exactly_the_expected_permissions():
    assert set(CATALOGUE) == set(EXPECTED)


@pytest.mark.parametrize(("role", "permission"), PAIRS, ids=[f"{r}-{p}" for r, p in PAIRS])
def test_role_permission_pair(role, permission, org, member):
    actor = actor_for(member(role))
    # Policies are tested below; give policy-bearing permissions a target that passes them.
    target = {"target": member(Role.VIEWER)} if CATALOGUE[permission].policies else {}

    if role in EXPECTED[permission]:
        assert require_app_permission(actor, permission, **target) == actor
        assert has_app_permission(actor, permission)
    else:
        with pytest.raises(AppError) as raised:
            require_app_permission(actor, permission, **target)
        assert raised.value.code == ErrorCode.FORBIDDEN
        assert not has_app_permission(actor, permission)


def test_role_permissions_lists_the_catalogue_rows_of_a_role():
    assert set(role_permissions(Role.VIEWER)) == {p for p, roles in EXPECTED.items() if V in roles}


def test_an_unknown_permission_raises_at_call_time(org, member):
    with pytest.raises(UnknownPermissionError, match=r"records\.destroy"):
        require_app_permission(actor_for(member(Role.OWNER)), "workspace.records.destroy")
    with pytest.raises(UnknownPermissionError):
        has_app_permission(actor_for(member(Role.OWNER)), "nope")


def test_an_unknown_permission_raises_at_import_time_in_the_decorator():
    with pytest.raises(UnknownPermissionError):
        app_permission_required("workspace.records.destroy")


def test_a_missing_plan_capability_is_a_plan_limit(org, member):
    actor = dataclasses.replace(actor_for(member(Role.OWNER)), capabilities=frozenset())
    with pytest.raises(AppError) as raised:
        require_app_permission(actor, "member.invite")
    assert raised.value.code == ErrorCode.PLAN_LIMIT
    assert "plan" in raised.value.message


def test_an_api_key_cannot_exceed_its_permission_subset(org, member):
    actor = dataclasses.replace(
        actor_for(member(Role.OWNER)), permission_limit=frozenset({"workspace.records.read"})
    )
    assert require_app_permission(actor, "workspace.records.read") == actor
    with pytest.raises(AppError) as raised:
        require_app_permission(actor, "workspace.records.create")
    assert raised.value.code == ErrorCode.FORBIDDEN


# --- resource policies -------------------------------------------------------------------


def test_an_admin_cannot_remove_an_owner(org, member):
    member(Role.OWNER)
    admin, other_owner = member(Role.ADMIN), member(Role.OWNER)
    with pytest.raises(AppError) as raised:
        require_app_permission(actor_for(admin), "member.remove", target=other_owner)
    assert raised.value.code == ErrorCode.FORBIDDEN


def test_the_last_owner_cannot_be_removed_or_demoted(org, member):
    owner = member(Role.OWNER)
    for permission in ("member.remove", "member.update_role"):
        with pytest.raises(AppError) as raised:
            require_app_permission(actor_for(owner), permission, target=owner)
        assert raised.value.code == ErrorCode.CONFLICT
        assert "last owner" in raised.value.message


def test_an_owner_can_be_removed_while_another_owner_remains(org, member):
    owner, second = member(Role.OWNER), member(Role.OWNER)
    assert require_app_permission(actor_for(owner), "member.remove", target=second)


def test_an_owner_of_another_organization_does_not_count(org, other_org, member):
    owner = member(Role.OWNER)
    member(Role.OWNER, organization=other_org)
    with pytest.raises(AppError):
        require_app_permission(actor_for(owner), "member.remove", target=owner)


def test_a_policy_permission_without_its_target_is_a_programming_error(org, member):
    with pytest.raises(TypeError, match="target"):
        require_app_permission(actor_for(member(Role.OWNER)), "member.remove")
    with pytest.raises(TypeError, match="resource policies"):
        app_permission_required("member.remove")


# --- resolving the actor from each transport ---------------------------------------------


def _request(user=None, organization_id=None):
    request = RequestFactory().get("/")
    request.session = SessionStore()
    if organization_id is not None:
        request.session[ACTIVE_ORGANIZATION_SESSION_KEY] = organization_id
    if user is not None:
        request.user = user
    else:
        from django.contrib.auth.models import AnonymousUser

        request.user = AnonymousUser()
    return request


def test_an_anonymous_request_is_unauthenticated(db):
    with pytest.raises(AppError) as raised:
        require_app_permission(_request(), "organization.read")
    assert raised.value.code == ErrorCode.UNAUTHENTICATED


def test_a_user_without_membership_is_forbidden(db):
    with pytest.raises(AppError) as raised:
        require_app_permission(_request(UserFactory()), "organization.read")
    assert raised.value.code == ErrorCode.FORBIDDEN


def test_a_request_resolves_to_the_active_organization_and_role(org, other_org, member):
    mine = member(Role.VIEWER)
    MembershipFactory(user=mine.user, organization=other_org, role=Role.ADMIN)

    actor = require_app_permission(_request(mine.user, other_org.pk), "organization.read")
    assert (actor.organization_id, actor.role) == (other_org.pk, Role.ADMIN)

    actor = require_app_permission(_request(mine.user, org.pk), "organization.read")
    assert (actor.organization_id, actor.role) == (org.pk, Role.VIEWER)


def test_a_session_naming_a_foreign_organization_falls_back_to_the_users_own(
    org, other_org, member
):
    mine = member(Role.MEMBER)
    member(Role.OWNER, organization=other_org)
    actor = require_app_permission(_request(mine.user, other_org.pk), "organization.read")
    assert actor.organization_id == org.pk
    assert actor.role == Role.MEMBER


def test_a_channels_scope_resolves_like_a_request(org, member):
    mine = member(Role.ADMIN)
    session = SessionStore()
    actor = require_app_permission({"user": mine.user, "session": session}, "audit.read")
    assert actor == actor_for(mine)
    with pytest.raises(AppError):
        require_app_permission({"user": mine.user, "session": session}, "billing.manage")


def test_the_decorator_guards_sync_functions(org, member):
    @app_permission_required("workspace.records.create")
    def create(actor: Actor) -> str:
        return "created"

    assert create(actor_for(member(Role.MEMBER))) == "created"
    with pytest.raises(AppError):
        create(actor=actor_for(member(Role.VIEWER)))


@pytest.mark.django_db(transaction=True)
async def test_the_decorator_guards_async_functions():
    from tests.factories import OrganizationFactory

    organization = await sync_to_async(OrganizationFactory)()
    owner = await sync_to_async(MembershipFactory)(organization=organization, role=Role.OWNER)
    viewer = await sync_to_async(MembershipFactory)(organization=organization, role=Role.VIEWER)

    @app_permission_required("billing.manage")
    async def change_plan(scope: dict) -> str:
        return "changed"

    session = SessionStore()  # not saved: building one touches no database
    assert await change_plan({"user": owner.user, "session": session}) == "changed"
    with pytest.raises(AppError) as raised:
        await change_plan({"user": viewer.user, "session": session})
    assert raised.value.code == ErrorCode.FORBIDDEN

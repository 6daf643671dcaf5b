"""Every role × permission pair through require_app_permission, and the Actor resolved
from each transport's source.

EXPECTED is written out by hand, not derived from the catalogue: a change to who may do
what has to be made twice, once here, on purpose.
"""

from __future__ import annotations

import dataclasses

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from kernel import actors
from kernel.actor import AuthMethod
from kernel.actors import ACTIVE_ORGANIZATION_SESSION_KEY, Job
from kernel.errors import AppError, ErrorCode
from kernel.guard import has_app_permission, require_app_permission
from kernel.manifest import DOMAINS
from kernel.permissions import CATALOGUE, Role, UnknownPermissionError, role_permissions
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
    "organization.export": {O, A},
    "organization.policies": {O},
    # tests/tenant_app, the kernel's own test domain
    "notes.read": {O, A, M, V},
    "notes.write": {O, A, M},
    "notes.delete": {O, A},
    "notes.purge": {O},
}

PAIRS = [(role, permission) for permission in EXPECTED for role in Role]
# Domain apps test their own rows (tests/<app>/); here: the platform's and the test domain's.
PLATFORM = {"organizations", "billing", "accounts", "tenant_app"}


def declared_by(labels: set[str]) -> set[str]:
    return {p.name for d in DOMAINS if d.label in labels for p in d.permissions}


def test_the_catalogue_holds_exactly_the_expected_permissions():
    assert declared_by(PLATFORM) == set(EXPECTED)
    assert set(CATALOGUE) == {p.name for d in DOMAINS for p in d.permissions}


@pytest.mark.parametrize(("role", "permission"), PAIRS, ids=[f"{r}-{p}" for r, p in PAIRS])
def test_role_permission_pair(role, permission, org, member):
    actor = actor_for(member(role))
    # Policies are tested below; give policy-bearing permissions a target that passes them.
    target = {"target": member(Role.VIEWER)} if CATALOGUE[permission].policies else {}

    if role in EXPECTED[permission]:
        require_app_permission(actor, permission, **target)
        assert has_app_permission(actor, permission)
    else:
        with pytest.raises(AppError) as raised:
            require_app_permission(actor, permission, **target)
        assert raised.value.code == ErrorCode.FORBIDDEN
        assert not has_app_permission(actor, permission)


def test_role_permissions_lists_the_catalogue_rows_of_a_role():
    viewer = set(role_permissions(Role.VIEWER)) & declared_by(PLATFORM)
    assert viewer == {p for p, roles in EXPECTED.items() if V in roles}


def test_an_unknown_permission_raises_at_call_time(org, member):
    with pytest.raises(UnknownPermissionError, match=r"notes\.destroy"):
        require_app_permission(actor_for(member(Role.OWNER)), "notes.destroy")
    with pytest.raises(UnknownPermissionError):
        has_app_permission(actor_for(member(Role.OWNER)), "nope")


def test_a_missing_plan_capability_is_a_plan_limit(org, member):
    actor = dataclasses.replace(actor_for(member(Role.OWNER)), capabilities=frozenset())
    with pytest.raises(AppError) as raised:
        require_app_permission(actor, "member.invite")
    assert raised.value.code == ErrorCode.PLAN_LIMIT
    assert "plan" in raised.value.message


def test_an_api_key_cannot_exceed_its_permission_subset(org, member):
    actor = dataclasses.replace(actor_for(member(Role.OWNER)), scopes=frozenset({"notes.read"}))
    require_app_permission(actor, "notes.read")
    with pytest.raises(AppError) as raised:
        require_app_permission(actor, "notes.write")
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
    require_app_permission(actor_for(owner), "member.remove", target=second)


def test_an_owner_of_another_organization_does_not_count(org, other_org, member):
    owner = member(Role.OWNER)
    member(Role.OWNER, organization=other_org)
    with pytest.raises(AppError):
        require_app_permission(actor_for(owner), "member.remove", target=owner)


def test_a_policy_permission_without_its_target_is_a_programming_error(org, member):
    with pytest.raises(TypeError, match="target"):
        require_app_permission(actor_for(member(Role.OWNER)), "member.remove")


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
        actors.resolve(_request())
    assert raised.value.code == ErrorCode.UNAUTHENTICATED


def test_a_user_without_membership_is_forbidden(db):
    with pytest.raises(AppError) as raised:
        actors.resolve(_request(UserFactory()))
    assert raised.value.code == ErrorCode.FORBIDDEN


def test_a_request_resolves_to_the_active_organization_and_role(org, other_org, member):
    mine = member(Role.VIEWER)
    MembershipFactory(user=mine.user, organization=other_org, role=Role.ADMIN)

    actor = actors.resolve(_request(mine.user, other_org.pk))
    assert (actor.organization_id, actor.role) == (other_org.pk, Role.ADMIN)

    actor = actors.resolve(_request(mine.user, org.pk))
    assert (actor.organization_id, actor.role) == (org.pk, Role.VIEWER)


def test_a_session_naming_a_foreign_organization_falls_back_to_the_users_own(
    org, other_org, member
):
    mine = member(Role.MEMBER)
    member(Role.OWNER, organization=other_org)
    actor = actors.resolve(_request(mine.user, other_org.pk))
    assert actor.organization_id == org.pk
    assert actor.role == Role.MEMBER


def test_naming_an_organization_one_is_not_a_member_of_is_not_found(org, other_org, member):
    mine = member(Role.OWNER)
    with pytest.raises(AppError) as raised:
        actors.resolve(_request(mine.user), organization_id=other_org.pk)
    assert raised.value.code == ErrorCode.NOT_FOUND
    assert actors.resolve(_request(mine.user), organization_id=org.pk).role == Role.OWNER


def test_a_channels_scope_resolves_like_a_request(org, member):
    mine = member(Role.ADMIN)
    session = SessionStore()
    actor = actors.resolve({"user": mine.user, "session": session})
    assert actor.access == actor_for(mine).access
    require_app_permission(actor, "audit.read")
    with pytest.raises(AppError):
        require_app_permission(actor, "billing.manage")


def test_a_job_resolves_to_the_members_current_role_and_never_passes_step_up(org, member):
    mine = member(Role.ADMIN)
    actor = actors.resolve(Job(organization_id=org.pk, user_id=mine.user_id))
    assert (actor.role, actor.auth.method) == (Role.ADMIN, AuthMethod.TASK)
    mine.delete()
    with pytest.raises(AppError) as raised:
        actors.resolve(Job(organization_id=org.pk, user_id=mine.user_id))
    assert raised.value.code == ErrorCode.FORBIDDEN


def test_the_actor_carries_the_plans_limits(org, member):
    actor = actor_for(member(Role.OWNER))
    assert actor.plan == "Free"
    assert actor.limits["organization.members"] == 5
    assert actor.limits["notes"] == 3

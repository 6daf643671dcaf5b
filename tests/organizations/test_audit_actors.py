"""Who the log names: an API key by name and id, the permission and reason of a refusal
(and its target when the body had found it in the organization — never for another
organization's objects), the operator behind an admin action."""

from __future__ import annotations

import pytest

from accounts.models import User
from kernel.door import call
from kernel.errors import AppError
from kernel.permissions import Role
from organizations import mutations
from organizations.models import ApiKey, AuditEvent
from tests.accounts.helpers import operator_client
from tests.conftest import JSON, actor_for, bearer, client_for
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _key(org, role: Role, permissions: list[str] | None = None) -> tuple[ApiKey, str]:
    from kernel.permissions import role_permissions

    creator = MembershipFactory(organization=org, role=role)
    return mutations.api_key_issue(
        organization_id=org.pk,
        name="deploy bot",
        permissions=permissions if permissions is not None else role_permissions(role),
        created_by_id=creator.user_id,
    )


def test_a_change_through_the_api_names_the_key(api, org):
    key, secret = _key(org, Role.ADMIN)
    response = api.post(
        "/api/v1/invitations", {"email": "dana@acme.io"}, content_type=JSON, **bearer(secret)
    )
    assert response.status_code == 201, response.content
    row = AuditEvent.objects.for_organization(org.pk).get(action="invitation.create")
    assert (row.actor, row.api_key_id) == (None, key.pk)
    assert row.actor_label == f"API key “deploy bot” (#{key.pk})"
    assert (row.target, row.target_type) == ("dana@acme.io", "invitation")
    owner = MembershipFactory(organization=org, role=Role.OWNER)
    page = client_for(owner).get("/organization/audit/").content.decode()
    assert f"API key “deploy bot” (#{key.pk})" in page


def test_a_key_refused_by_the_catalogue_is_recorded_with_the_permission(api, org):
    key, secret = _key(org, Role.ADMIN, permissions=["organization.read"])
    response = api.post(
        "/api/v1/invitations", {"email": "dana@acme.io"}, content_type=JSON, **bearer(secret)
    )
    assert response.status_code == 403
    row = AuditEvent.objects.for_organization(org.pk).get(action="invitation.create")
    assert (row.result, row.permission, row.api_key_id) == ("denied", "member.invite", key.pk)
    assert row.reason == response.json()["error"]["message"]
    assert row.target == ""  # refused before anything was looked at


def test_a_refusal_after_the_target_was_found_names_it(org):
    owner = MembershipFactory(organization=org, role=Role.OWNER, user__email="olga@acme.io")
    admin = MembershipFactory(organization=org, role=Role.ADMIN)
    with pytest.raises(AppError) as refused:
        call(mutations.member_update_role, actor_for(admin), {"membership_id": owner.pk, "role": "viewer"})  # fmt: skip
    row = AuditEvent.objects.for_organization(org.pk).get(action="member.update_role")
    assert (row.result, row.permission) == ("denied", "member.update_role")
    assert (row.target, row.target_type, row.target_id) == ("olga@acme.io", "member", str(owner.pk))
    assert row.reason == refused.value.message
    page = client_for(owner).get("/organization/audit/").content.decode()
    assert "Tried to change a member&#x27;s role (" in page


def test_another_organizations_object_leaves_no_row_and_no_hint(org, other_org):
    admin = MembershipFactory(organization=org, role=Role.ADMIN)
    theirs = MembershipFactory(organization=other_org, role=Role.MEMBER)
    before = AuditEvent.objects.unscoped().count()
    with pytest.raises(AppError) as refused:
        call(mutations.member_remove, actor_for(admin), {"membership_id": theirs.pk})
    assert refused.value.code == "not_found"
    assert AuditEvent.objects.unscoped().count() == before


def test_an_admin_action_names_the_operator(org):
    member = MembershipFactory(organization=org, role=Role.MEMBER)
    MembershipFactory(organization=org, role=Role.OWNER)
    operator = operator_client("ops@example.com")
    response = operator.post(
        f"/admin/organizations/membership/{member.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code in (200, 302)
    row = AuditEvent.objects.for_organization(org.pk).get(action="member.remove")
    staff = User.objects.get(email="ops@example.com")
    assert (row.actor_label, row.operator_id, row.operator_label) == (
        "operator ops@example.com",
        staff.pk,
        "ops@example.com",
    )

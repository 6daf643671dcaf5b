"""Every organization permission × role, through the API and the pages, and
cross-organization access (always 404, nothing leaked)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from kernel.permissions import Role
from organizations.models import Invitation, Membership
from tests.factories import MembershipFactory

O, A, M, V = Role.OWNER, Role.ADMIN, Role.MEMBER, Role.VIEWER
ALL = [O, A, M, V]
MANAGERS = {O, A}


def pending_invitation(org, email="invitee@example.com") -> Invitation:
    from datetime import timedelta

    from django.utils import timezone

    return Invitation.objects.create(
        organization=org,
        email=email,
        role=Role.MEMBER,
        token_hash=email,
        expires_at=timezone.now() + timedelta(days=7),
        last_sent_at=timezone.now(),
    )


def target_viewer(org) -> Membership:
    return MembershipFactory(organization=org, role=Role.VIEWER)


# (permission, roles that hold it, how to call it through the API, expected success status)
API_CASES = [
    ("organization.read", ALL, lambda c, org: c.get(f"/api/v1/organizations/{org.pk}"), 200),
    (
        "organization.update",
        MANAGERS,
        lambda c, org: c.patch(
            f"/api/v1/organizations/{org.pk}", {"name": "Renamed"}, content_type="application/json"
        ),
        200,
    ),
    ("member.read", ALL, lambda c, org: c.get("/api/v1/members"), 200),
    (
        "member.invite",
        MANAGERS,
        lambda c, org: c.post(
            "/api/v1/invitations",
            {"email": "new@example.com", "role": "viewer"},
            content_type="application/json",
        ),
        201,
    ),
    (
        "member.update_role",
        MANAGERS,
        lambda c, org: c.patch(
            f"/api/v1/members/{target_viewer(org).pk}",
            {"role": "member"},
            content_type="application/json",
        ),
        200,
    ),
    (
        "member.remove",
        MANAGERS,
        lambda c, org: c.delete(f"/api/v1/members/{target_viewer(org).pk}"),
        204,
    ),
    ("invitation.read", MANAGERS, lambda c, org: c.get("/api/v1/invitations"), 200),
    (
        "invitation.cancel",
        MANAGERS,
        lambda c, org: c.delete(f"/api/v1/invitations/{pending_invitation(org).pk}"),
        204,
    ),
    ("audit.read", MANAGERS, lambda c, org: c.get("/api/v1/audit-events"), 200),
]


@pytest.mark.parametrize(
    ("permission", "holders", "call", "status", "role"),
    [(*case, role) for case in API_CASES for role in ALL],
    ids=[f"{case[0]}-{role}" for case in API_CASES for role in ALL],
)
def test_api_permission_by_role(permission, holders, call, status, role, as_role, org):
    response = call(as_role(role), org)
    if role in holders:
        assert response.status_code == status, response.content
    else:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("role", [M, V, A])
@pytest.mark.parametrize(
    "call",
    [
        lambda c, org: c.delete(
            f"/api/v1/organizations/{org.pk}",
            {"confirm_name": org.name},
            content_type="application/json",
        ),
        lambda c, org: c.post(
            f"/api/v1/organizations/{org.pk}/transfer",
            {"membership_id": target_viewer(org).pk},
            content_type="application/json",
        ),
    ],
    ids=["organization.delete", "organization.transfer"],
)
def test_only_owners_delete_or_transfer(call, role, as_role, org):
    response = call(as_role(role), org)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


PAGE_CASES = [
    ("member.read", ALL, lambda c, org: c.get("/organization/"), 200),
    (
        "organization.update",
        MANAGERS,
        lambda c, org: c.post("/organization/settings/", {"name": "Renamed"}),
        302,
    ),
    (
        "member.invite",
        MANAGERS,
        lambda c, org: c.post("/organization/", {"email": "n@example.com", "role": "viewer"}),
        302,
    ),
    (
        "member.update_role",
        MANAGERS,
        lambda c, org: c.post(
            f"/organization/members/{target_viewer(org).pk}/role/", {"role": "member"}
        ),
        302,
    ),
    (
        "member.remove",
        MANAGERS,
        lambda c, org: c.post(
            f"/organization/members/{target_viewer(org).pk}/remove/", {"confirmed": "yes"}
        ),
        302,
    ),
    (
        "invitation.cancel",
        MANAGERS,
        lambda c, org: c.post(
            f"/organization/invitations/{pending_invitation(org).pk}/revoke/",
            {"confirmed": "yes"},
        ),
        302,
    ),
    ("audit.read", MANAGERS, lambda c, org: c.get("/organization/audit/"), 200),
]


@pytest.mark.parametrize(
    ("permission", "holders", "call", "status", "role"),
    [(*case, role) for case in PAGE_CASES for role in ALL],
    ids=[f"{case[0]}-{role}" for case in PAGE_CASES for role in ALL],
)
def test_page_permission_by_role(permission, holders, call, status, role, as_role, org):
    response = call(as_role(role), org)
    if role in holders:
        assert response.status_code == status
    else:
        assert response.status_code == 403
        assert b"forbidden" in response.content


def test_pages_show_or_hide_controls_from_the_catalogue(as_role):
    owner_page = as_role(O).get("/organization/").content
    viewer_page = as_role(V).get("/organization/").content
    assert b"Send invitation" in owner_page
    assert b"Send invitation" not in viewer_page
    assert b'href="/organization/transfer/"' in owner_page
    assert b'href="/organization/transfer/"' not in viewer_page
    assert b"What each role can do" in viewer_page  # the matrix, from the catalogue
    assert b"notes.purge" in viewer_page  # a permission the viewer lacks is listed too


def test_every_page_shows_the_active_organization(as_role, org):
    assert org.name.encode() in as_role(V).get("/").content
    assert org.name.encode() in as_role(V).get("/account/").content


# --- cross-organization ---------------------------------------------------------------------


@pytest.fixture
def foreign(other_org):
    member = MembershipFactory(organization=other_org, role=Role.MEMBER)
    return {
        "org": other_org,
        "member": member,
        "invitation": pending_invitation(other_org, "secret-invitee@globex.example"),
    }


def assert_nothing_leaked(response, foreign) -> None:
    body = response.content.decode()
    for secret in (foreign["org"].name, foreign["member"].user.email, foreign["invitation"].email):
        assert secret not in body


@pytest.mark.parametrize(
    "call",
    [
        lambda c, f: c.get(f"/api/v1/organizations/{f['org'].pk}"),
        lambda c, f: c.patch(
            f"/api/v1/organizations/{f['org'].pk}",
            {"name": "Mine now"},
            content_type="application/json",
        ),
        lambda c, f: c.delete(
            f"/api/v1/organizations/{f['org'].pk}",
            {"confirm_name": "Globex"},
            content_type="application/json",
        ),
        lambda c, f: c.patch(
            f"/api/v1/members/{f['member'].pk}", {"role": "viewer"}, content_type="application/json"
        ),
        lambda c, f: c.delete(f"/api/v1/members/{f['member'].pk}"),
        lambda c, f: c.delete(f"/api/v1/invitations/{f['invitation'].pk}"),
        lambda c, f: c.post(f"/api/v1/invitations/{f['invitation'].pk}/resend"),
    ],
    ids=[
        "org-get",
        "org-rename",
        "org-delete",
        "member-role",
        "member-remove",
        "inv-revoke",
        "inv-resend",
    ],
)
def test_api_objects_of_another_organization_are_not_found(call, as_role, foreign):
    response = call(as_role(O), foreign)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert_nothing_leaked(response, foreign)
    foreign["member"].refresh_from_db()
    assert foreign["member"].role == Role.MEMBER


@pytest.mark.parametrize(
    "call",
    [
        lambda c, f: c.post(f"/organization/members/{f['member'].pk}/role/", {"role": "viewer"}),
        lambda c, f: c.post(f"/organization/members/{f['member'].pk}/remove/"),
        lambda c, f: c.post(f"/organization/invitations/{f['invitation'].pk}/revoke/"),
        lambda c, f: c.post("/organization/switch/", {"organization_id": f["org"].pk}),
    ],
    ids=["member-role", "member-remove", "inv-revoke", "switch"],
)
def test_pages_objects_of_another_organization_are_not_found(call, as_role, foreign):
    response = call(as_role(O), foreign)
    assert response.status_code == 404
    assert_nothing_leaked(response, foreign)
    assert Membership.objects.for_organization(foreign["org"].pk).count() == 1


def test_lists_never_include_another_organization(as_role, foreign):
    client = as_role(O)
    for path in (
        "/api/v1/members",
        "/api/v1/invitations",
        "/api/v1/audit-events",
        "/api/v1/organizations",
    ):
        response = client.get(path)
        assert response.status_code == 200
        assert_nothing_leaked(response, foreign)


def test_anonymous_api_calls_are_unauthenticated(db):
    for method, path in [
        ("get", "/api/v1/organizations"),
        ("get", "/api/v1/members"),
        ("post", "/api/v1/invitations"),
        ("get", "/api/v1/audit-events"),
    ]:
        response = getattr(Client(), method)(path)
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "unauthenticated"


def test_session_api_calls_need_csrf_for_unsafe_methods(team, org):
    client = Client(enforce_csrf_checks=True)
    client.force_login(team[O].user)
    response = client.post(
        "/api/v1/invitations",
        json.dumps({"email": "x@example.com"}),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert not Invitation.objects.for_organization(org.pk).exists()

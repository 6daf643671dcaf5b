"""The API keys page: a key shown once, scoped within its creator's role, revoked, and
marked when it stopped working because its creator left."""

from __future__ import annotations

import pytest
from django.test import Client

from kernel.permissions import CATALOGUE, Role
from organizations.models import ApiKey, Membership
from tests.accounts.helpers import PASSWORD, login, make_verified_user
from tests.conftest import bearer, client_for
from tests.factories import MembershipFactory

O, A, M, V = Role.OWNER, Role.ADMIN, Role.MEMBER, Role.VIEWER


@pytest.fixture
def admin_session(org) -> Client:
    user = make_verified_user("admin@example.com")
    MembershipFactory(organization=org, user=user, role=Role.ADMIN)
    client = Client()
    login(client, user.email, PASSWORD)  # a fresh sign-in: step-up level 2 passes
    return client


def test_a_key_is_shown_once_stored_hashed_and_works(admin_session, org):
    response = admin_session.post(
        "/organization/api-keys/",
        {"name": "CI", "permissions": ["notes.read"], "expires_in_days": "30"},
        follow=True,
    )
    assert response.redirect_chain == [("/organization/api-keys/", 302)]  # post/redirect/get
    raw = response.context["created_key"]
    assert 'data-copy="#created-key"' in response.content.decode()
    assert raw.startswith("sk_")
    key = ApiKey.objects.for_organization(org.pk).get()
    assert raw not in (key.key_hash, key.prefix)
    assert raw not in admin_session.get("/organization/api-keys/").content.decode()
    assert Client().get("/api/v1/test-notes", **bearer(raw)).status_code == 200


def test_a_key_never_gets_more_than_its_creator_holds(admin_session, org):
    response = admin_session.post(
        "/organization/api-keys/", {"name": "Too much", "permissions": ["billing.manage"]}
    )
    assert response.status_code == 403
    assert not ApiKey.objects.for_organization(org.pk).exists()


def test_a_revoked_key_stops_working(admin_session, org):
    raw = admin_session.post(
        "/organization/api-keys/", {"name": "Temp", "permissions": ["notes.read"]}, follow=True
    ).context["created_key"]
    key = ApiKey.objects.for_organization(org.pk).get()
    asked = admin_session.post(f"/organization/api-keys/{key.pk}/revoke/")
    assert asked.status_code == 200  # without JavaScript: the confirmation page first
    assert "“Temp” stops working immediately" in asked.content.decode()
    assert 'name="confirmed" value="yes"' in asked.content.decode()
    assert Client().get("/api/v1/test-notes", **bearer(raw)).status_code == 200
    admin_session.post(f"/organization/api-keys/{key.pk}/revoke/", {"confirmed": "yes"})
    assert Client().get("/api/v1/test-notes", **bearer(raw)).status_code == 401


def test_members_and_viewers_cannot_manage_keys(team):
    for role in (M, V):
        assert client_for(team[role]).get("/organization/api-keys/").status_code == 403


def test_a_stale_session_steps_up_before_creating_a_key(team):
    client = client_for(team[O])  # no sign-in record: not a fresh session
    response = client.post("/organization/api-keys/", {"name": "x", "permissions": ["notes.read"]})
    assert response.status_code == 302
    assert response["Location"].startswith("/account/step-up/api_keys.create/")


def test_the_page_says_when_a_key_stopped_working_because_its_creator_left(admin_session, org):
    raw = admin_session.post(
        "/organization/api-keys/",
        {"name": "Deploys", "permissions": ["notes.read"]},
        follow=True,
    ).context["created_key"]
    owner = MembershipFactory(organization=org, role=O)
    Membership.objects.for_organization(org.pk).get(user__email="admin@example.com").delete()
    assert Client().get("/api/v1/test-notes", **bearer(raw)).status_code == 401
    page = client_for(owner).get("/organization/api-keys/").content.decode()
    assert "Deploys" in page
    assert "stopped working" in page


def test_a_refused_key_keeps_what_was_typed(admin_session):
    response = admin_session.post("/organization/api-keys/", {"name": "\u200b", "permissions": []})
    assert response.status_code == 422
    html = response.content.decode()
    assert "Use visible characters." in html
    assert "Choose at least one." in html


def test_another_organizations_member_is_not_found_in_the_confirm_flow(admin_session, other_org):
    foreign = MembershipFactory(organization=other_org, role=V)
    response = admin_session.post(f"/organization/members/{foreign.pk}/remove/")
    assert response.status_code == 404
    assert foreign.user.email not in response.content.decode()
    assert Membership.objects.for_organization(other_org.pk).filter(pk=foreign.pk).exists()


def test_controls_per_member_follow_the_policies(org):
    """Derived from the same helper the mutations use, for every role and target."""
    people = {role: MembershipFactory(organization=org, role=role) for role in (O, A, M, V)}
    for viewer_role, viewer in people.items():
        page = client_for(viewer).get("/organization/").content.decode()
        for target_role, target in people.items():
            row = page.split(f'id="member-{target.pk}"')[1].split("</tr>")[0]
            shown_remove = "Remove</button>" in row
            shown_change = "Change</button>" in row
            if target is viewer:
                assert not shown_remove
                assert not shown_change
                continue
            # The catalogue's roles, then its policy: no one acts on a higher role.
            outranked = target_role.rank > viewer_role.rank
            for permission, shown in (
                ("member.remove", shown_remove),
                ("member.update_role", shown_change),
            ):
                expected = viewer_role in CATALOGUE[permission].roles and not outranked
                assert shown == expected, (permission, viewer_role, target_role)
            assert f'data-role="{target_role}"' in row or shown_change


def test_leave_is_never_offered_to_the_last_owner(org):
    owner = MembershipFactory(organization=org, role=O)
    assert "Leave " not in client_for(owner).get("/organization/").content.decode()
    MembershipFactory(organization=org, role=O)  # after a second owner exists, it is
    assert "Leave " in client_for(owner).get("/organization/").content.decode()


def test_after_a_transfer_the_new_owners_row_shows_owner_and_no_controls(org):
    owner = MembershipFactory(organization=org, role=O)
    admin = MembershipFactory(organization=org, role=A)
    owner.role, admin.role = A, O  # what ownership_transfer leaves behind
    owner.save(update_fields=["role"])
    admin.save(update_fields=["role"])
    page = client_for(owner).get("/organization/").content.decode()
    row = page.split(f'id="member-{admin.pk}"')[1].split("</tr>")[0]
    assert 'data-role="owner"' in row
    assert "Change</button>" not in row
    assert "Remove</button>" not in row

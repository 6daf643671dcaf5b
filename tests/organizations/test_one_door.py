"""Regressions found by trying the organizations domain as a user and an attacker would,
each through the transport where it was found: the same door for every one of them."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from config.asgi import application
from kernel.door import call
from kernel.errors import AppError
from kernel.permissions import Role
from organizations import mutations
from organizations.models import ApiKey, AuditEvent, Invitation, Membership
from tests.accounts.helpers import PASSWORD, login, make_verified_user, operator_client
from tests.conftest import JSON, actor_for, bearer, client_for
from tests.factories import MembershipFactory, OrganizationFactory

O, A, M, V = Role.OWNER, Role.ADMIN, Role.MEMBER, Role.VIEWER


def creator_of(org, raw: str) -> Membership:
    key = ApiKey.objects.for_organization(org.pk).get(prefix=raw.split("_")[1])
    assert key.created_by_id is not None
    return Membership.objects.for_organization(org.pk).get(user_id=key.created_by_id)


# --- an API key acts with its creator's current role ------------------------------------------


def test_a_removed_creators_key_no_longer_lists_members(api, make_key, org):
    raw = make_key(O)
    assert api.get("/api/v1/members", **bearer(raw)).status_code == 200
    creator_of(org, raw).delete()
    refused = api.get("/api/v1/members", **bearer(raw))
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "unauthenticated")


def test_a_demoted_creators_key_is_demoted_too(api, make_key, org):
    raw = make_key(O)
    assert api.get("/api/v1/invitations", **bearer(raw)).status_code == 200
    creator = creator_of(org, raw)
    creator.role = V
    creator.save()
    assert api.get("/api/v1/invitations", **bearer(raw)).status_code == 403
    assert api.get("/api/v1/members", **bearer(raw)).status_code == 200  # what viewers may


# --- idempotency after the door ---------------------------------------------------------------


def test_a_viewer_repeating_an_owners_call_gets_403_not_the_stored_invitation(api, make_key):
    body, key = {"email": "new@example.com"}, {"HTTP_IDEMPOTENCY_KEY": "invite-1"}
    owner, viewer = make_key(O), make_key(V)
    first = api.post("/api/v1/invitations", body, content_type=JSON, **key, **bearer(owner))
    assert first.status_code == 201
    repeat = api.post("/api/v1/invitations", body, content_type=JSON, **key, **bearer(viewer))
    assert repeat.status_code == 403
    assert "Idempotent-Replayed" not in repeat
    assert "new@example.com" not in repeat.content.decode()
    assert api.get("/api/v1/invitations", **bearer(viewer)).status_code == 403


def test_another_principal_with_the_same_key_makes_its_own_call(api, make_key, org):
    key = {"HTTP_IDEMPOTENCY_KEY": "invite-2"}
    for raw, email in ((make_key(O), "a@example.com"), (make_key(A), "b@example.com")):
        created = api.post(
            "/api/v1/invitations", {"email": email}, content_type=JSON, **key, **bearer(raw)
        )
        assert created.status_code == 201
        assert created.json()["email"] == email
    assert Invitation.objects.for_organization(org.pk).count() == 2


# --- the same input judged the same way on every transport ------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("stop_hub")
async def test_a_bad_email_is_refused_alike_on_the_page_the_api_and_the_socket():
    def setup() -> tuple[Client, str, int]:
        org = OrganizationFactory()
        owner = MembershipFactory(organization=org, role=O)
        from organizations.mutations import api_key_issue

        _key, raw = api_key_issue(
            organization_id=org.pk,
            name="k",
            permissions=["member.invite"],
            created_by_id=owner.user_id,
        )
        return client_for(owner), raw, org.pk

    browser, raw, organization_id = await database_sync_to_async(setup)()
    expected = {"email": ["Enter a valid email address."]}

    page = await database_sync_to_async(browser.post)(
        "/organization/", {"email": "not-an-email", "role": "member"}
    )
    assert page.status_code == 422
    assert "Enter a valid email address." in page.content.decode()
    assert 'value="not-an-email"' in page.content.decode()  # what was typed stays

    api = await database_sync_to_async(Client().post)(
        "/api/v1/invitations", {"email": "not-an-email"}, content_type=JSON, **bearer(raw)
    )
    assert (api.status_code, api.json()["error"]["fields"]) == (422, expected)

    socket = WebsocketCommunicator(
        application, "/ws/", headers=[(b"authorization", f"Bearer {raw}".encode())]
    )
    assert (await socket.connect())[0]
    await socket.send_json_to(
        {
            "type": "mutation",
            "id": 1,
            "name": "invitations.create",
            "args": {"email": "not-an-email"},
        }
    )
    frame = await socket.receive_json_from(timeout=5)
    assert (frame["code"], frame["fields"]) == ("invalid_input", expected)
    await socket.disconnect()
    count = await database_sync_to_async(
        lambda: Invitation.objects.for_organization(organization_id).count()
    )()
    assert count == 0  # nothing created, nothing emailed


# --- authority is current ---------------------------------------------------------------------


def test_a_mutation_uses_the_role_of_now_not_of_when_the_request_began(org, member):
    owner, admin = member(O), member(A)
    stale = actor_for(admin)  # resolved while still an admin
    admin.role = V
    admin.save()
    with pytest.raises(AppError) as raised:
        call(mutations.member_update_role, stale, {"membership_id": owner.pk, "role": "viewer"})
    assert raised.value.code == "forbidden"


@pytest.fixture
def operator(db: None) -> Client:
    return operator_client()


def test_the_admin_cannot_demote_or_remove_the_last_owner(operator, org, member):
    owner = member(O)
    url = f"/admin/organizations/membership/{owner.pk}/change/"
    form = {"user": owner.user_id, "organization": org.pk, "role": "admin"}
    response = operator.post(url, form)
    assert response.status_code == 200  # the form again, with the refusal
    assert "last owner" in response.content.decode()
    owner.refresh_from_db()
    assert owner.role == O
    assert operator.get(f"/admin/organizations/membership/{owner.pk}/delete/").status_code == 403


def test_admin_membership_changes_are_audited_with_the_operator(operator, org, member):
    member(O)
    changed = member(M)
    url = f"/admin/organizations/membership/{changed.pk}/change/"
    response = operator.post(
        url, {"user": changed.user_id, "organization": org.pk, "role": "admin"}
    )
    assert response.status_code == 302
    event = AuditEvent.objects.for_organization(org.pk).get(action="member.update_role")
    assert (event.actor_label, event.target, event.detail["role"]) == (
        "operator ops@example.com",
        changed.user.email,
        "admin",
    )
    operator.post(f"/admin/organizations/membership/{changed.pk}/delete/", {"post": "yes"})
    assert not Membership.objects.for_organization(org.pk).filter(pk=changed.pk).exists()
    assert AuditEvent.objects.for_organization(org.pk).filter(action="member.remove").exists()


def test_the_organization_page_in_the_admin_shows_members_read_only(operator, org, member):
    owner = member(O)
    page = operator.get(f"/admin/organizations/organization/{org.pk}/change/").content.decode()
    assert owner.user.email in page
    assert "memberships-0-role" not in page  # no inline form field to edit a role here


# --- step-up without a request, and never losing input ----------------------------------------


def reauthenticate(client: Client) -> None:
    response = client.post(
        "/accounts/reauthenticate/?next=/account/step-up/done/", {"password": PASSWORD}
    )
    assert response.status_code == 302


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("stop_hub")
async def test_a_sensitive_mutation_over_the_socket_needs_its_grant():
    def setup() -> tuple[Client, dict, int, int]:
        org = OrganizationFactory(name="Socket Co")
        user = make_verified_user("owner@example.com")
        MembershipFactory(organization=org, user=user, role=O)
        target = MembershipFactory(organization=org, role=A)
        client = Client()
        login(client, user.email)
        session = client.session
        session["active_organization_id"] = org.pk
        session.save()
        scope = {"session": SessionStore(session.session_key), "user": user}
        return client, scope, org.pk, target.pk

    client, scope, _org, target_id = await database_sync_to_async(setup)()

    async def transfer(frame_id: str) -> dict:
        socket = WebsocketCommunicator(
            application, "/ws/", headers=[(b"host", b"localhost"), (b"origin", b"http://localhost")]
        )
        socket.scope.update(scope)
        assert (await socket.connect())[0]
        await socket.send_json_to(
            {"type": "mutation", "id": frame_id, "name": "organization.transfer",
             "args": {"membership_id": target_id}}
        )  # fmt: skip
        frame = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return frame

    refused = await transfer("t1")
    assert (refused["type"], refused["code"]) == ("error", "step_up_required")

    def grant() -> None:  # the step-up page, then re-authentication, in that session
        client.get("/account/step-up/organization.transfer/?next=/")
        reauthenticate(client)

    await database_sync_to_async(grant)()
    scope["session"] = await database_sync_to_async(
        lambda: SessionStore(client.session.session_key)
    )()
    done = await transfer("t2")
    assert (done["type"], done["value"]["role"]) == ("result", "owner")


def test_a_step_up_on_submit_returns_to_the_form_with_the_input_kept(org):
    user = make_verified_user("admin@example.com")
    MembershipFactory(organization=org, user=user, role=A)
    browser = client_for(Membership.objects.for_organization(org.pk).get(user=user))  # stale
    typed = {"name": "CI deploys", "permissions": ["member.read"], "expires_in_days": "30"}

    response = browser.post("/organization/api-keys/", typed)
    assert response["Location"].startswith("/account/step-up/api_keys.create/")
    assert not ApiKey.objects.for_organization(org.pk).exists()
    browser.get(response["Location"])
    reauthenticate(browser)
    back = browser.get("/account/step-up/done/")
    assert back["Location"] == "/organization/api-keys/"

    form = browser.get("/organization/api-keys/").content.decode()
    assert 'value="CI deploys"' in form
    assert 'value="member.read" checked' in form
    assert '<option value="30" selected>' in form
    assert 'value="CI deploys"' not in browser.get("/organization/api-keys/").content.decode()


def test_json_errors_never_carry_a_library_prefix(api, make_key):
    response = api.patch(
        "/api/v1/members/1", {"role": "emperor"}, content_type=JSON, **bearer(make_key(O))
    )
    assert response.status_code == 422
    text = json.dumps(response.json())
    assert "Value error" not in text
    assert "Input should be" not in text
    assert response.json()["error"]["fields"] == {
        "role": ["Choose one of: owner, admin, member, viewer."]
    }

"""Members, ownership, organization lifecycle and the audit log."""

from __future__ import annotations

import threading

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

from accounts.models import User
from kernel.door import call
from kernel.errors import AppError
from kernel.permissions import Role
from organizations import mutations
from organizations.models import AuditEvent, Invitation, Membership, Organization
from organizations.tasks import purge_due_organizations
from tests.accounts.helpers import PASSWORD, login, make_verified_user
from tests.conftest import actor_for, client_for, person_for
from tests.factories import MembershipFactory, OrganizationFactory
from tests.tasks import run_tasks


def code(raised) -> str:
    return str(raised.value.code)


# --- the last owner ---------------------------------------------------------------------------


def test_the_last_owner_cannot_be_demoted_removed_or_leave(org):
    owner = MembershipFactory(organization=org, role=Role.OWNER)
    admin = MembershipFactory(organization=org, role=Role.ADMIN)
    actor = actor_for(owner)
    with pytest.raises(AppError) as raised:
        call(mutations.member_update_role, actor, {"membership_id": owner.pk, "role": Role.ADMIN})
    assert code(raised) == "conflict"
    with pytest.raises(AppError) as raised:
        call(mutations.member_leave, actor)
    assert code(raised) == "conflict"
    with pytest.raises(AppError) as raised:
        call(mutations.member_remove, actor_for(admin), {"membership_id": owner.pk})
    assert code(raised) == "forbidden"  # an admin cannot touch an owner at all
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_an_admin_cannot_promote_above_themselves(org):
    MembershipFactory(organization=org, role=Role.OWNER)
    admin = MembershipFactory(organization=org, role=Role.ADMIN)
    member = MembershipFactory(organization=org, role=Role.MEMBER)
    with pytest.raises(AppError) as raised:
        call(
            mutations.member_update_role,
            actor_for(admin),
            {"membership_id": member.pk, "role": Role.OWNER},
        )
    assert code(raised) == "forbidden"
    assert (
        AuditEvent.objects.for_organization(org.pk)
        .filter(action="member.update_role", result="denied")
        .exists()
    )


@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_at_once_leave_one_owner():
    org = OrganizationFactory()
    first = MembershipFactory(organization=org, role=Role.OWNER)
    second = MembershipFactory(organization=org, role=Role.OWNER)
    start = threading.Barrier(2, timeout=10)
    outcomes: list[str] = []

    def demote(actor_membership: Membership, target: Membership) -> None:
        try:
            start.wait()
            call(
                mutations.member_update_role,
                actor_for(actor_membership),
                {"membership_id": target.pk, "role": Role.ADMIN},
            )
            outcomes.append("demoted")
        except AppError as error:
            outcomes.append(error.code.value)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=demote, args=(first, second)),
        threading.Thread(target=demote, args=(second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    roles = sorted(Membership.objects.for_organization(org.pk).values_list("role", flat=True))
    assert roles == ["admin", "owner"]
    # The loser's retry re-reads its own role inside the transaction: it is an admin now,
    # and an admin cannot change an owner's membership.
    assert sorted(outcomes) == ["demoted", "forbidden"]


# --- transfer and delete need step-up ------------------------------------------------------------


def reauthenticate(client: Client) -> None:
    client.post("/accounts/reauthenticate/?next=/account/step-up/done/", {"password": PASSWORD})


@pytest.fixture
def owner_client(org):
    user = make_verified_user("owner@example.com")
    MembershipFactory(organization=org, user=user, role=Role.OWNER)
    client = Client()
    login(client, user.email)
    session = client.session
    session["active_organization_id"] = org.pk
    session.save()
    return client


def test_transfer_refuses_without_step_up_and_succeeds_with_it(org, owner_client):
    other = MembershipFactory(organization=org, role=Role.ADMIN)
    path = f"/api/v1/organizations/{org.pk}/transfer"
    body = {"membership_id": other.pk}

    refused = owner_client.post(path, body, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "step_up_required"

    page = owner_client.get("/organization/transfer/")
    assert page["Location"].startswith("/account/step-up/organization.transfer/")
    owner_client.get(page["Location"])
    reauthenticate(owner_client)
    assert owner_client.post(path, body, content_type="application/json").status_code == 200
    other.refresh_from_db()
    assert other.role == Role.OWNER
    step_up = AuditEvent.objects.for_organization(org.pk).get(action="step_up")
    assert (step_up.target, step_up.result) == ("organization.transfer", "success")
    me = Membership.objects.for_organization(org.pk).get(user__email="owner@example.com")
    assert me.role == Role.ADMIN


def test_delete_refuses_without_step_up_or_the_typed_name(org, other_org, owner_client):
    path = f"/api/v1/organizations/{org.pk}"
    refused = owner_client.delete(path, {"confirm_name": org.name}, content_type="application/json")
    assert refused.json()["error"]["code"] == "step_up_required"

    owner_client.get("/account/step-up/organization.delete/?next=/")
    reauthenticate(owner_client)
    wrong = owner_client.delete(path, {"confirm_name": "acme"}, content_type="application/json")
    assert wrong.status_code == 422
    assert "confirm_name" in wrong.json()["error"]["fields"]
    assert Organization.objects.filter(pk=org.pk).exists()


def test_deleting_an_organization_purges_its_rows_and_nothing_else(org, other_org, owner_client):
    """Deleting schedules it (organizations/deletion.py); the purge after the grace
    period deletes its rows, and no other organization's."""
    MembershipFactory.create_batch(2, organization=org)
    MembershipFactory.create_batch(2, organization=other_org)
    Invitation.objects.create(
        organization=other_org,
        email="x@example.com",
        role="member",
        token_hash="t",
        expires_at="2999-01-01T00:00:00Z",
        last_sent_at="2026-01-01T00:00:00Z",
    )
    other_rows = (
        Membership.objects.for_organization(other_org.pk).count(),
        Invitation.objects.for_organization(other_org.pk).count(),
    )

    page = owner_client.get("/organization/delete/")
    owner_client.get(page["Location"])
    reauthenticate(owner_client)
    response = owner_client.post("/organization/delete/", {"confirm_name": org.name})

    assert response.status_code == 302
    scheduled = Organization.objects.get(pk=org.pk)
    assert scheduled.status == Organization.Status.PENDING_DELETION
    assert Membership.objects.unscoped().filter(organization_id=org.pk).count() == 3

    Organization.objects.filter(pk=org.pk).update(deletion_due_at=timezone.now())  # its date
    purge_due_organizations.enqueue()
    run_tasks()

    assert not Organization.objects.filter(pk=org.pk).exists()
    assert not Membership.objects.unscoped().filter(organization_id=org.pk).exists()
    assert not AuditEvent.objects.unscoped().filter(organization_id=org.pk).exists()
    assert (
        Membership.objects.for_organization(other_org.pk).count(),
        Invitation.objects.for_organization(other_org.pk).count(),
    ) == other_rows
    assert User.objects.filter(email="owner@example.com").exists()


# --- organizations ----------------------------------------------------------------------------


def test_sign_up_creates_an_active_personal_organization(client, db):
    client.post(
        "/accounts/signup/",
        {"email": "solo@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    user = User.objects.get(email="solo@example.com")
    membership = Membership.objects.unscoped().get(user=user)
    assert membership.role == Role.OWNER
    assert "solo" in membership.organization.name
    assert client.session["active_organization_id"] == membership.organization_id


def test_names_are_validated_the_same_way_in_the_api_and_the_pages(org):
    owner = MembershipFactory(organization=org, role=Role.OWNER)
    client = client_for(owner)
    api = client.patch(
        f"/api/v1/organizations/{org.pk}", {"name": " x "}, content_type="application/json"
    )
    assert api.status_code == 422
    assert api.json()["error"]["fields"] == {"name": ["Use at least 2 characters."]}
    page = client.post("/organization/settings/", {"name": " x "})
    assert page.status_code == 422
    assert b"Use at least 2 characters." in page.content
    created = client.post(
        "/api/v1/organizations", {"name": "  Spaced   Out  "}, content_type="application/json"
    )
    assert created.json()["name"] == "Spaced Out"
    long = client.post("/api/v1/organizations", {"name": "x" * 65}, content_type="application/json")
    assert long.status_code == 422
    org.refresh_from_db()
    assert org.name == "Acme"


def test_create_and_switch_organizations(org):
    owner = MembershipFactory(organization=org, role=Role.OWNER)
    client = client_for(owner)
    response = client.post("/organization/new/", {"name": "Second Co"})
    assert response.status_code == 302
    second = Organization.objects.get(name="Second Co")
    assert client.get("/api/v1/me").json()["organization"]["id"] == second.pk
    client.post("/organization/switch/", {"organization_id": org.pk})
    assert client.get("/api/v1/me").json()["organization"]["id"] == org.pk
    slugs = {o["organization"]["slug"] for o in client.get("/api/v1/organizations").json()}
    assert slugs == {org.slug, second.slug}


def test_a_removed_member_loses_access_at_once(org):
    owner = MembershipFactory(organization=org, role=Role.OWNER)
    member = MembershipFactory(organization=org, role=Role.MEMBER)
    client = client_for(member)
    assert client.get("/api/v1/members").status_code == 200
    call(mutations.member_remove, actor_for(owner), {"membership_id": member.pk})
    response = client.get("/api/v1/members")
    assert response.status_code == 403  # no organization left to act in


def test_personal_mode_refuses_team_features_in_the_mutations(org, settings):
    settings.ORGANIZATIONS_MODE = "personal"
    owner = MembershipFactory(organization=org, role=Role.OWNER)
    member = MembershipFactory(organization=org, role=Role.MEMBER)
    actor = actor_for(owner)
    for attempt in (
        lambda: call(mutations.organization_create, person_for(owner.user), {"name": "Another"}),
        lambda: call(
            mutations.member_update_role, actor, {"membership_id": member.pk, "role": Role.VIEWER}
        ),
        lambda: call(mutations.member_remove, actor, {"membership_id": member.pk}),
    ):
        with pytest.raises(AppError) as raised:
            attempt()
        assert code(raised) == "forbidden"


# --- the audit log -------------------------------------------------------------------------------


def test_the_audit_log_records_changes_and_pages_through_them(org):
    owner = MembershipFactory(organization=org, role=Role.OWNER)
    actor = actor_for(owner)
    for n in range(3):
        call(mutations.organization_rename, actor, {"name": f"Acme {n}"})
    client = client_for(owner)

    first = client.get("/api/v1/audit-events?action=organization.rename").json()
    assert [e["target"] for e in first["events"]] == ["Acme 2", "Acme 1", "Acme 0"]
    assert first["events"][0]["actor_label"] == owner.user.email
    page = client.get("/organization/audit/?action=organization.rename")
    assert page.status_code == 200
    assert b"Acme 2" in page.content


def test_the_audit_log_is_read_only_in_the_admin(org):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    operator = make_verified_user("ops@example.com")
    operator.is_staff = operator.is_superuser = True
    operator.save()
    TOTP.activate(operator, generate_totp_secret())
    owner = MembershipFactory(organization=org, role=Role.OWNER)
    call(mutations.organization_rename, actor_for(owner), {"name": "Acme Renamed"})
    client = Client()
    client.force_login(operator)
    event = AuditEvent.objects.for_organization(org.pk).latest("id")

    assert client.get("/admin/organizations/auditevent/").status_code == 200
    assert client.get(f"/admin/organizations/auditevent/{event.pk}/delete/").status_code == 403
    found = client.get(f"/admin/organizations/organization/?q={owner.user.email}")
    assert b"Acme Renamed" in found.content

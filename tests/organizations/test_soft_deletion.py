"""Soft deletion (organizations/deletion.py): an organization deleted by its owners waits
in `pending_deletion` — nobody acts in it, its owners see the restore page — until the
purge task deletes it in batches and leaves the final record in the owners' accounts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client
from django.utils import timezone

from accounts.models import SecurityEvent, User
from config.asgi import application
from kernel.actor import SYSTEM, System
from kernel.door import call
from kernel.errors import AppError
from kernel.permissions import Role
from organizations import deletion
from organizations.models import AuditEvent, Invitation, Membership, Organization
from organizations.tasks import purge_due_organizations
from tests.accounts.helpers import PASSWORD, login, make_verified_user
from tests.accounts.test_security import delete_with_step_up
from tests.conftest import JSON, bearer, client_for
from tests.factories import MembershipFactory, OrganizationFactory
from tests.kernel.live_helpers import HOST, ORIGIN
from tests.tasks import run_tasks

PENDING = Organization.Status.PENDING_DELETION


def scheduled(organization: Organization, *, days: int = 30) -> Organization:
    with transaction.atomic():
        deletion.schedule(
            organization,
            by="Deleted by owner@example.com",
            due_at=timezone.now() + timedelta(days=days),
        )
    organization.refresh_from_db()
    return organization


def reauthenticate(client: Client) -> None:
    client.post("/accounts/reauthenticate/?next=/account/step-up/done/", {"password": PASSWORD})


def signed_in(organization: Organization, role: Role, email: str) -> Client:
    """A fresh session (step-up level 2 passes) acting in `organization`."""
    user = make_verified_user(email)
    MembershipFactory(organization=organization, user=user, role=role)
    client = Client()
    login(client, email)
    session = client.session
    session["active_organization_id"] = organization.pk
    session.save()
    return client


def purge_now() -> None:
    purge_due_organizations.enqueue()
    run_tasks()


def make_due(organization: Organization) -> None:
    Organization.objects.filter(pk=organization.pk).update(
        deletion_due_at=timezone.now() - timedelta(minutes=1)
    )


def operator(email: str = "ops@example.com") -> tuple[User, System]:
    staff = make_verified_user(email)
    staff.is_staff = True
    staff.save()
    return staff, System(label=f"operator {email}", operator_id=staff.pk)


# --- scheduling -------------------------------------------------------------------------------


def test_the_owners_delete_schedules_it_for_the_grace_period(org, settings):
    settings.ORGANIZATION_DELETION_GRACE_DAYS = 30
    owner = signed_in(org, Role.OWNER, "owner@example.com")
    MembershipFactory(organization=org, role=Role.MEMBER)
    owner.get("/account/step-up/organization.delete/?next=/organization/delete/")
    reauthenticate(owner)

    response = owner.post("/organization/delete/", {"confirm_name": org.name})

    assert response.status_code == 302
    assert response["Location"] == f"/organization/{org.pk}/restore/"
    org.refresh_from_db()
    assert org.status == PENDING
    assert org.status_reason == "Deleted by owner@example.com"
    assert org.deletion_due_at is not None
    expected = timezone.now() + timedelta(days=30)
    assert abs((org.deletion_due_at - expected).total_seconds()) < 60
    assert Membership.objects.for_organization(org.pk).count() == 2  # nothing deleted yet
    row = AuditEvent.objects.for_organization(org.pk).get(action="organization.schedule_deletion")
    assert (row.actor_label, row.target_type, row.target_id) == (
        "owner@example.com",
        "organization",
        str(org.pk),
    )
    assert row.summary == f"scheduled the organization's deletion on {org.deletion_due_at:%d %B %Y}"
    page = owner.get(response["Location"])
    assert page.status_code == 200
    assert f"{org.deletion_due_at:%-d %B %Y}" in page.content.decode()


def test_a_wrong_name_schedules_nothing(org):
    owner = signed_in(org, Role.OWNER, "owner@example.com")
    owner.get("/account/step-up/organization.delete/?next=/organization/delete/")
    reauthenticate(owner)
    response = owner.post("/organization/delete/", {"confirm_name": "Not it"})
    assert response.status_code == 422
    org.refresh_from_db()
    assert (org.status, org.deletion_due_at) == (Organization.Status.ACTIVE, None)


# --- access during the grace period --------------------------------------------------------------


def test_owners_see_the_restore_page_members_only_the_refusal(org):
    owner = signed_in(org, Role.OWNER, "owner@example.com")
    admin = signed_in(org, Role.ADMIN, "admin@example.com")
    scheduled(org)

    for path in ("/organization/", "/organization/settings/", "/dashboard/"):
        page = owner.get(path)
        assert page.status_code == 403
        body = page.content.decode()
        assert "data-restore-page" in body
        assert f'action="/organization/{org.pk}/restore/"' in body
        assert "choose a plan again" in body

        refused = admin.get(path)
        assert refused.status_code == 403
        body = refused.content.decode()
        assert 'data-error="pending_deletion"' in body
        assert "data-restore-page" not in body
        assert "/restore/" not in body


def test_an_api_key_is_refused_with_pending_deletion(org, api, make_key):
    raw = make_key(Role.OWNER)
    assert api.get("/api/v1/me", **bearer(raw)).status_code == 200
    scheduled(org)
    response = api.get("/api/v1/me", **bearer(raw))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "pending_deletion"
    refused = api.post(
        "/api/v1/invitations", {"email": "x@example.com"}, content_type=JSON, **bearer(raw)
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "pending_deletion")
    assert not Invitation.objects.for_organization(org.pk).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("stop_hub")
async def test_a_socket_is_refused_with_pending_deletion(make_key):
    def setup() -> str:
        organization = OrganizationFactory(name="Socket Co")
        raw = make_key(Role.OWNER, organization=organization)
        scheduled(organization)
        return raw

    raw = await database_sync_to_async(setup)()
    socket = WebsocketCommunicator(
        application, "/ws/", headers=[(b"authorization", f"Bearer {raw}".encode())]
    )
    assert (await socket.connect())[0]
    await socket.send_json_to(
        {"type": "mutation", "id": 1, "name": "invitations.create",
         "args": {"email": "x@example.com"}}
    )  # fmt: skip
    frame = await socket.receive_json_from(timeout=5)
    assert (frame["type"], frame["code"]) == ("error", "pending_deletion")
    await socket.disconnect()


# --- restoring ---------------------------------------------------------------------------------


def test_an_owner_restores_it_and_billing_stays_cancelled(org):
    owner = signed_in(org, Role.OWNER, "owner@example.com")
    scheduled(org)

    response = owner.post(f"/organization/{org.pk}/restore/")

    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.status, org.deletion_due_at, org.status_reason) == ("active", None, "")
    row = AuditEvent.objects.for_organization(org.pk).get(action="organization.restore")
    assert (row.actor_label, row.result) == ("owner@example.com", "success")
    after = owner.get(response["Location"], follow=True)
    assert "is restored" in after.content.decode()
    assert "choose a plan again" in after.content.decode()
    assert owner.get("/organization/").status_code == 200


def test_restoring_needs_a_recent_sign_in(org):
    owner = MembershipFactory(organization=org, role=Role.OWNER)
    client = client_for(owner)  # force_login: no fresh sign-in recorded
    scheduled(org)
    response = client.post(f"/organization/{org.pk}/restore/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/step-up/organization.restore/")
    assert Organization.objects.get(pk=org.pk).status == PENDING


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MEMBER, Role.VIEWER])
def test_other_roles_cannot_restore(org, role):
    client = signed_in(org, role, "someone@example.com")
    scheduled(org)
    assert client.get(f"/organization/{org.pk}/restore/").status_code == 403
    assert client.post(f"/organization/{org.pk}/restore/").status_code == 403
    assert Organization.objects.get(pk=org.pk).status == PENDING
    assert (
        not AuditEvent.objects.for_organization(org.pk)
        .filter(action="organization.restore", result="success")
        .exists()
    )


def test_another_organizations_owner_finds_nothing(org, other_org):
    stranger = signed_in(other_org, Role.OWNER, "stranger@example.com")
    scheduled(org)
    assert stranger.get(f"/organization/{org.pk}/restore/").status_code == 404
    assert stranger.post(f"/organization/{org.pk}/restore/").status_code == 404
    assert stranger.post("/organization/999999/restore/").status_code == 404
    assert Organization.objects.get(pk=org.pk).status == PENDING


def test_an_active_organization_has_nothing_to_restore(org):
    owner = signed_in(org, Role.OWNER, "owner@example.com")
    assert owner.post(f"/organization/{org.pk}/restore/").status_code == 409


def test_once_its_date_passed_it_cannot_be_restored(org):
    owner = signed_in(org, Role.OWNER, "owner@example.com")
    scheduled(org)
    make_due(org)
    page = owner.get(f"/organization/{org.pk}/restore/")
    assert "can no longer be restored" in page.content.decode()
    assert owner.post(f"/organization/{org.pk}/restore/").status_code == 409
    assert Organization.objects.get(pk=org.pk).status == PENDING


# --- purging ------------------------------------------------------------------------------------


def test_the_task_purges_it_after_the_period_and_keeps_the_final_record(org, other_org):
    owner = MembershipFactory(organization=org, role=Role.OWNER)
    MembershipFactory(organization=org, role=Role.MEMBER)
    MembershipFactory(organization=other_org, role=Role.OWNER)
    scheduled(org)
    other_rows = AuditEvent.objects.for_organization(other_org.pk).count()

    purge_now()  # not due yet: nothing happens
    assert Organization.objects.filter(pk=org.pk).exists()

    make_due(org)
    purge_now()

    assert not Organization.objects.filter(pk=org.pk).exists()
    assert not Membership.objects.unscoped().filter(organization_id=org.pk).exists()
    assert not AuditEvent.objects.unscoped().filter(organization_id=org.pk).exists()
    assert Membership.objects.for_organization(other_org.pk).count() == 1
    assert AuditEvent.objects.for_organization(other_org.pk).count() == other_rows
    record = SecurityEvent.objects.get(kind="organization.purge")
    assert (record.user_id, record.result) == (owner.user_id, "success")
    assert record.detail["organization_id"] == org.pk
    assert record.detail["organization_name"] == "Acme"
    assert record.detail["scheduled_by"] == "Deleted by owner@example.com"
    assert record.detail["purged_by"] == "the deletion task"

    User.objects.filter(pk=owner.user_id).delete()  # the record outlives the account too
    record.refresh_from_db()
    assert (record.user_id, record.user_email) == (None, owner.user.email)


def test_active_and_restored_organizations_are_never_purged(org, other_org):
    scheduled(org)
    make_due(other_org)  # a date on an active organization means nothing
    with transaction.atomic():
        organization = Organization.objects.get(pk=org.pk)
        deletion._restore(organization)
    make_due(org)
    purge_now()
    assert Organization.objects.filter(pk__in=[org.pk, other_org.pk]).count() == 2
    assert not SecurityEvent.objects.filter(kind="organization.purge").exists()


def test_it_is_purged_in_batches(org, settings):
    settings.ORGANIZATION_PURGE_BATCH_SIZE = 2
    MembershipFactory(organization=org, role=Role.OWNER)
    for n in range(5):
        Invitation.objects.create(
            organization=org,
            email=f"x{n}@example.com",
            role="member",
            token_hash=f"t{n}",
            expires_at="2999-01-01T00:00:00Z",
            last_sent_at="2026-01-01T00:00:00Z",
        )
    scheduled(org)
    make_due(org)
    reference = {"organization_id": org.pk}

    left = []
    while (deleted := call(deletion.purge_batch, SYSTEM, reference)) != 0:
        assert 0 < deleted <= 2  # never more than a batch in one transaction
        left.append(Invitation.objects.for_organization(org.pk).count())
    assert left[:3] == [3, 1, 0]  # invitations first, two at a time; then the audit log
    assert not AuditEvent.objects.for_organization(org.pk).exists()
    assert Organization.objects.filter(pk=org.pk).exists()  # the row goes last
    assert Membership.objects.for_organization(org.pk).count() == 1

    assert call(deletion.purge_finish, SYSTEM, reference) is True
    assert not Organization.objects.filter(pk=org.pk).exists()


def test_a_batch_stops_when_it_is_not_due(org):
    scheduled(org)  # due in 30 days
    assert call(deletion.purge_batch, SYSTEM, {"organization_id": org.pk}) is None
    assert call(deletion.purge_finish, SYSTEM, {"organization_id": org.pk}) is False
    assert deletion.purge(org.pk) is False
    assert Organization.objects.filter(pk=org.pk).exists()


def test_audit_rows_are_purged_after_every_other_table():
    models = deletion.purged_models()
    assert models[-1] is AuditEvent
    assert Membership not in models


# --- operators ---------------------------------------------------------------------------------


def test_an_operator_restores_with_a_reason(org):
    MembershipFactory(organization=org, role=Role.OWNER)
    staff, system = operator()
    scheduled(org)

    call(
        deletion.organization_restore_by_operator,
        system,
        {"organization_id": org.pk, "reason": "Deleted by mistake (ticket 12)"},
    )

    org.refresh_from_db()
    assert (org.status, org.deletion_due_at) == ("active", None)
    row = AuditEvent.objects.for_organization(org.pk).get(action="organization.restore")
    assert (row.operator_id, row.operator_label) == (staff.pk, "ops@example.com")
    assert row.detail["why"] == "Deleted by mistake (ticket 12)"


def test_an_operator_cannot_restore_what_is_not_scheduled_or_missing(org):
    _staff, system = operator()
    with pytest.raises(AppError) as raised:
        call(
            deletion.organization_restore_by_operator,
            system,
            {"organization_id": org.pk, "reason": "x"},
        )
    assert raised.value.code == "conflict"
    with pytest.raises(AppError) as raised:
        call(
            deletion.organization_restore_by_operator,
            system,
            {"organization_id": 999999, "reason": "x"},
        )
    assert raised.value.code == "not_found"
    with pytest.raises(AppError) as raised:
        call(deletion.organization_restore_by_operator, system, {"organization_id": org.pk})
    assert raised.value.code == "invalid_input"  # a reason is required


def test_an_operator_purges_at_once_through_the_same_task(org, other_org):
    owner = MembershipFactory(organization=org, role=Role.OWNER)
    MembershipFactory(organization=other_org, role=Role.OWNER)
    staff, system = operator()

    call(
        deletion.organization_purge_by_operator,
        system,
        {"organization_id": org.pk, "reason": "Abuse report 7"},
    )
    org.refresh_from_db()
    assert org.status == PENDING  # due now, the purge enqueued
    run_tasks()

    assert not Organization.objects.filter(pk=org.pk).exists()
    assert Organization.objects.filter(pk=other_org.pk).exists()
    records = SecurityEvent.objects.filter(kind="organization.purge")
    assert {r.user_id for r in records} == {owner.user_id, staff.pk}
    for record in records:
        assert record.detail["purged_by"] == "operator ops@example.com"
        assert record.detail["scheduled_by"] == "Purged by an operator: Abuse report 7"


# --- accounts ----------------------------------------------------------------------------------


def test_an_accounts_solo_organization_is_purged_later_with_a_record(db):
    user = make_verified_user("leaving@example.com")
    solo = OrganizationFactory(name="Solo")
    MembershipFactory(organization=solo, user=user, role=Role.OWNER)
    client = Client()
    login(client, user.email)
    delete_with_step_up(client, user.email)
    assert not User.objects.filter(email="leaving@example.com").exists()
    assert Organization.objects.get(pk=solo.pk).status == PENDING
    row = AuditEvent.objects.for_organization(solo.pk).get(action="organization.schedule_deletion")
    assert row.actor_label == "leaving@example.com"

    make_due(solo)
    purge_now()

    assert not Organization.objects.filter(pk=solo.pk).exists()
    record = SecurityEvent.objects.get(kind="organization.purge")
    assert record.user is None  # no owner left; the record names who deleted it
    assert record.detail["scheduled_by"] == "Deleted with the account of leaving@example.com"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("stop_hub")
async def test_a_live_subscription_ends_when_the_deletion_is_scheduled(make_key):
    def setup() -> tuple[Organization, str]:
        organization = OrganizationFactory(name="Live Co")
        return organization, make_key(Role.OWNER, organization=organization)

    organization, raw = await database_sync_to_async(setup)()
    socket = WebsocketCommunicator(
        application, "/ws/", headers=[HOST, ORIGIN, (b"authorization", f"Bearer {raw}".encode())]
    )
    assert (await socket.connect())[0]
    await socket.send_json_to({"type": "subscribe", "id": "m", "query": "members.list", "args": {}})
    first = await socket.receive_json_from(timeout=5)
    assert first["type"] == "result"

    await database_sync_to_async(scheduled)(organization)

    frame = await socket.receive_json_from(timeout=15)
    assert (frame["type"], frame["id"], frame["code"]) == ("error", "m", "pending_deletion")
    await socket.disconnect()

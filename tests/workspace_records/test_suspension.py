"""Suspension with the demo domain's data: every transport refused, everything back after."""

from __future__ import annotations

import pytest

from kernel.actor import System
from kernel.door import call
from kernel.errors import AppError
from kernel.permissions import Role
from organizations.models import ApiKey, Membership
from tests.conftest import actor_for, bearer, client_for
from tests.factories import MembershipFactory, UserFactory
from tests.organizations.test_suspension import REASON, reactivate, refused, suspend
from workspace_records.models import WorkspaceRecord
from workspace_records.mutations import record_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops(db: None) -> System:
    staff = UserFactory(email="ops@example.com", is_staff=True)
    return System(f"operator {staff.email}", operator_id=staff.pk)


def test_every_transport_answers_suspended_and_reactivation_gives_everything_back(
    ops, org, other_org, member, make_key, api
):
    owner = member(Role.OWNER)
    elsewhere = MembershipFactory(organization=other_org, user=owner.user, role=Role.MEMBER)
    record = call(record_create, actor_for(owner), {"title": "Kept through it all"})
    raw_key = make_key(Role.ADMIN)
    browser = client_for(owner)
    assert browser.get("/dashboard/").status_code == 200
    assert api.get("/api/v1/records", **bearer(raw_key)).status_code == 200
    keys_before = set(ApiKey.objects.for_organization(org.pk).values_list("pk", "revoked_at"))
    members_before = set(Membership.objects.for_organization(org.pk).values_list("pk", "role"))

    suspend(ops, org)

    # Pages: every page of the organization is the suspended page, 403.
    pages = ("/dashboard/", "/organization/", "/organization/settings/", "/organization/audit/")
    for path in (*pages, "/organization/api-keys/", "/records/", f"/records/{record.id}/"):
        page = browser.get(path)
        assert page.status_code == 403, path
        text = page.content.decode()
        assert 'data-error="suspended"' in text
        assert REASON in text
        assert "mailto:support@localhost" in text
    # The API with a key: the envelope; reads and writes alike.
    answer = api.get("/api/v1/records", **bearer(raw_key))
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "suspended"
    assert REASON in answer.json()["error"]["message"]
    created = api.post(
        "/api/v1/records", {"title": "no"}, content_type="application/json", **bearer(raw_key)
    )
    assert (created.status_code, created.json()["error"]["code"]) == (403, "suspended")
    # Python callers acting as a member (jobs): the resolver refuses to build the actor.
    with pytest.raises(AppError) as raised:
        actor_for(owner)
    assert raised.value.code == "suspended"
    # Another organization of the same person is untouched.
    assert call(record_create, actor_for(elsewhere), {"title": "Elsewhere"}).title == "Elsewhere"
    # Nothing was deleted or revoked.
    assert (
        set(ApiKey.objects.for_organization(org.pk).values_list("pk", "revoked_at")) == keys_before
    )
    assert (
        set(Membership.objects.for_organization(org.pk).values_list("pk", "role")) == members_before
    )
    assert WorkspaceRecord.objects.for_organization(org.pk).filter(pk=record.id).exists()

    reactivate(ops, org)

    assert browser.get(f"/records/{record.id}/").status_code == 200
    listed = api.get("/api/v1/records", **bearer(raw_key))
    assert listed.status_code == 200
    assert [r["title"] for r in listed.json()["records"]] == ["Kept through it all"]
    made = api.post(
        "/api/v1/records", {"title": "Back"}, content_type="application/json", **bearer(raw_key)
    )
    assert made.status_code == 201
    assert call(record_create, actor_for(owner), {"title": "Again"}).title == "Again"


def test_a_mutation_begun_before_the_suspension_is_refused_inside_its_transaction(ops, org, member):
    owner = member(Role.OWNER)
    stale = actor_for(owner)  # resolved while the organization was active
    suspend(ops, org)
    assert refused(record_create, stale, {"title": "Too late"}).code == "suspended"
    assert not WorkspaceRecord.objects.for_organization(org.pk).exists()

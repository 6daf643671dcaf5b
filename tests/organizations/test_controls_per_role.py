"""Every role sees only the controls it may use, on every page that has them. What each
role "may" is read from the catalogue (has_app_permission) and, for controls on one
object, from the same helper the mutations use (may_act_on): never restated here."""

from __future__ import annotations

from typing import Any

import pytest

from billing.models import PlanSubscription
from kernel.guard import has_app_permission, may_act_on
from kernel.permissions import Role
from organizations.models import ApiKey, Membership
from organizations.mutations import api_key_issue
from tests.conftest import actor_for, client_for
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db
ROLES = list(Role)


def may(membership: Membership, permission: str) -> bool:
    return has_app_permission(actor_for(membership), permission)


def key_of(membership: Membership, name: str) -> ApiKey:
    key, _raw = api_key_issue(
        organization_id=membership.organization_id,
        name=name,
        permissions=["organization.read"],
        created_by_id=membership.user_id,
    )
    return key


@pytest.fixture
def local_billing(settings: Any) -> None:
    settings.BILLING_PROVIDER = "local"


# --- organization settings -------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_settings_show_rename_transfer_and_delete_only_to_those_who_may(role, team):
    viewer = team[role]
    html = client_for(viewer).get("/organization/settings/").content.decode()
    assert ('<button type="submit" class="button">Save</button>' in html) is may(
        viewer, "organization.update"
    )
    assert ("disabled" in html.split('name="name"')[1].split(">")[0]) is not may(
        viewer, "organization.update"
    )
    assert ('href="/organization/transfer/"' in html) is may(viewer, "organization.transfer")
    assert ('href="/organization/delete/"' in html) is may(viewer, "organization.delete")


@pytest.mark.parametrize("role", ROLES)
def test_members_page_offers_transfer_only_to_those_who_may(role, team):
    viewer = team[role]
    html = client_for(viewer).get("/organization/").content.decode()
    assert ('href="/organization/transfer/"' in html) is may(viewer, "organization.transfer")


# --- API keys --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_api_keys_page_shows_the_form_and_each_revoke_only_when_allowed(role, team):
    keys = {
        creator_role: key_of(team[creator_role], f"key of {creator_role}") for creator_role in ROLES
    }
    viewer = team[role]
    response = client_for(viewer).get("/organization/api-keys/")
    if not may(viewer, "api_keys.manage"):
        assert response.status_code == 403
        return
    html = response.content.decode()
    assert "Create key</button>" in html
    for creator_role, key in keys.items():
        shown = f'action="/organization/api-keys/{key.pk}/revoke/"' in html
        assert shown is may_act_on(actor_for(viewer), "api_keys.manage", key), creator_role


def test_a_revoked_key_offers_no_revoke(team):
    owner = team[Role.OWNER]
    key = key_of(owner, "old")
    client_for(owner).post(f"/organization/api-keys/{key.pk}/revoke/", {"confirmed": "yes"})
    html = client_for(owner).get("/organization/api-keys/").content.decode()
    assert f"/organization/api-keys/{key.pk}/revoke/" not in html


@pytest.mark.parametrize("confirmed", ["", "yes"])
def test_another_organizations_key_is_not_found_and_stays(team, other_org, confirmed):
    foreign = key_of(MembershipFactory(organization=other_org, role=Role.OWNER), "Globex CI")
    response = client_for(team[Role.OWNER]).post(
        f"/organization/api-keys/{foreign.pk}/revoke/", {"confirmed": confirmed}
    )
    assert response.status_code == 404
    assert "Globex CI" not in response.content.decode()
    assert ApiKey.objects.unscoped().get(pk=foreign.pk).revoked_at is None


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_roles_without_api_keys_manage_cannot_revoke_by_posting(role, team):
    key = key_of(team[Role.OWNER], "CI")
    response = client_for(team[role]).post(
        f"/organization/api-keys/{key.pk}/revoke/", {"confirmed": "yes"}
    )
    assert response.status_code == 403
    assert ApiKey.objects.for_organization(key.organization_id).get(pk=key.pk).revoked_at is None


# --- billing and plans -----------------------------------------------------------------------


def _subscribe(owner: Membership) -> None:
    client = client_for(owner)
    client.post(client.post("/billing/checkout/", {"plan": "pro_monthly"})["Location"])
    assert PlanSubscription.objects.for_organization(owner.organization_id).exists()


@pytest.mark.usefixtures("local_billing")
@pytest.mark.parametrize("subscribed", [False, True])
@pytest.mark.parametrize("role", ROLES)
def test_billing_page_shows_plan_controls_only_with_billing_manage(role, team, subscribed):
    if subscribed:
        _subscribe(team[Role.OWNER])
    viewer = team[role]
    response = client_for(viewer).get("/billing/")
    assert response.status_code == (200 if may(viewer, "billing.read") else 403)
    if response.status_code != 200:
        return
    html = response.content.decode()
    manage = may(viewer, "billing.manage")
    assert ('href="/billing/plans/"' in html) is manage
    assert ("Upgrade</a>" in html) is (manage and not subscribed)
    assert ('action="/billing/cancel/"' in html) is (manage and subscribed)


@pytest.mark.usefixtures("local_billing")
@pytest.mark.parametrize("subscribed", [False, True])
@pytest.mark.parametrize("role", ROLES)
def test_plans_page_offers_checkout_and_change_only_with_billing_manage(role, team, subscribed):
    if subscribed:
        _subscribe(team[Role.OWNER])
    viewer = team[role]
    response = client_for(viewer).get("/billing/plans/")
    if not may(viewer, "billing.read"):
        assert response.status_code == 403
        return
    html = response.content.decode()
    manage = may(viewer, "billing.manage")
    assert ('action="/billing/checkout/"' in html) is (manage and not subscribed)
    assert ('action="/billing/trial/"' in html) is (manage and not subscribed)
    # "Switch to …" asks for the price first (the plans page with ?change=).
    assert ('name="change"' in html) is (manage and subscribed)

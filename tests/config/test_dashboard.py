"""The dashboard (config/dashboard.py): what each role sees follows the catalogue, another
organization's data never shows, and the checklist ticks from real data."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from kernel.actor import System
from kernel.guard import has_app_permission
from kernel.manifest import onboarding_steps
from kernel.permissions import Role
from organizations.audit import AuditAction, audit
from tests.conftest import actor_for, client_for
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db
DASHBOARD = "/dashboard/"


def _sees(html: str, marker: str) -> bool:
    return marker in html


def ticked(html: str) -> dict[str, bool]:
    """The checklist: step label → ticked."""
    found = re.findall(r'data-done="(true|false)">.*?class="step-label">([^<]+)<', html, re.S)
    return {label: done == "true" for done, label in found}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_only_what_it_may(role, team, org):
    audit(
        organization_id=org.pk,
        action=AuditAction.ORGANIZATION_RENAME,
        actor=System(),
        target="Acme",
    )
    membership = team[role]
    actor = actor_for(membership)

    html = client_for(membership).get(DASHBOARD).content.decode()

    assert _sees(html, "data-activity") is has_app_permission(actor, "audit.read")
    assert _sees(html, "renamed the organization") is has_app_permission(actor, "audit.read")
    assert _sees(html, "data-plan") is has_app_permission(actor, "billing.read")
    assert _sees(html, reverse("billing:plans")) is has_app_permission(actor, "billing.manage")
    assert _sees(html, reverse("api_keys")) is has_app_permission(actor, "api_keys.manage")
    for step in onboarding_steps():
        may = step.permission is None or has_app_permission(actor, step.permission)
        assert _sees(html, str(step.label)) is (may and step.applies()), step.label


def test_the_checklist_ticks_from_real_data(org, member):
    owner = member(Role.OWNER)
    invite = next(step for step in onboarding_steps() if step.url_name == "organization_members")
    client = client_for(owner)
    assert ticked(client.get(DASHBOARD).content.decode())[str(invite.label)] is False

    member(Role.MEMBER)  # a teammate joined
    assert ticked(client.get(DASHBOARD).content.decode())[str(invite.label)] is True


def test_another_organizations_data_never_shows(org, other_org, member):
    owner = member(Role.OWNER)
    MembershipFactory(
        organization=other_org, role=Role.OWNER, user=UserFactory(email="globex-boss@example.com")
    )
    audit(
        organization_id=other_org.pk,
        action=AuditAction.ORGANIZATION_RENAME,
        actor=System(),
        target="Globex secret",
    )

    html = client_for(owner).get(DASHBOARD).content.decode()

    assert "Acme" in html
    assert "Globex" not in html
    assert "globex-boss@example.com" not in html


def test_the_switcher_lists_only_the_users_own_organizations(org, other_org, member):
    owner = member(Role.OWNER)
    mine = OrganizationFactory(name="Initech")
    MembershipFactory(organization=mine, user=owner.user, role=Role.VIEWER)

    html = client_for(owner).get(DASHBOARD).content.decode()

    switcher = html[html.index("data-org-switcher") : html.index("</details>")]
    assert "Acme" in switcher
    assert "Initech" in switcher
    assert "Globex" not in switcher
    assert switcher.count('aria-current="true"') == 1


def test_a_user_without_an_organization_is_offered_to_create_one(client):
    user = UserFactory()
    client.force_login(user)

    response = client.get(DASHBOARD)

    assert response.status_code == 200
    assert "data-empty-state" in response.content.decode()
    assert reverse("organization_create") in response.content.decode()


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(DASHBOARD)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_signing_in_lands_on_the_dashboard(client, org, member):
    from tests.accounts.helpers import PASSWORD, make_verified_user

    user = make_verified_user("lands@example.com")
    MembershipFactory(organization=org, user=user, role=Role.MEMBER)

    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == DASHBOARD


def test_the_landing_page_prices_every_plan_in_the_catalogue(client):
    from billing.plans import PLANS

    html = client.get("/").content.decode()

    for plan in PLANS.values():
        assert f'data-plan="{plan.code}"' in html
    assert reverse("account_signup") in html


def test_signed_in_the_brand_goes_to_the_dashboard(org, member):
    html = client_for(member(Role.VIEWER)).get("/").content.decode()
    assert f'class="brand" href="{DASHBOARD}"' in html


@pytest.mark.parametrize("role", list(Role))
def test_signed_in_the_pricing_offers_plans_only_to_who_may_change_them(role, team):
    html = client_for(team[role]).get("/").content.decode()
    may = has_app_permission(actor_for(team[role]), "billing.manage")
    assert (reverse("billing:plans") in html) is may


def _step_done(membership, url_name: str) -> bool:
    """Whether the shell's checklist shows the step behind `url_name` ticked."""
    label = next(step.label for step in onboarding_steps() if step.url_name == url_name)
    return ticked(client_for(membership).get(DASHBOARD).content.decode())[str(label)]


def test_two_factor_ticks_once_an_authenticator_app_is_set_up(org, member):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    owner = member(Role.OWNER)
    assert _step_done(owner, "mfa_index") is False
    TOTP.activate(owner.user, generate_totp_secret())
    assert _step_done(owner, "mfa_index") is True


def test_choosing_a_plan_ticks_once_the_organization_is_on_one(org, member):
    from billing import mutations
    from kernel.door import call
    from kernel.principal_cache import CACHE

    owner = member(Role.OWNER)
    assert _step_done(owner, "billing:plans") is False
    grant = {"organization_id": org.pk, "plan_code": "pro_monthly", "note": "test"}
    call(mutations.manual_grant_create, System("operator ops@example.com"), grant)
    CACHE.clear()  # as the change capture would tell a server process
    assert _step_done(owner, "billing:plans") is True


def test_switching_from_the_header_lands_on_the_other_organizations_dashboard(org, member):
    owner = member(Role.OWNER)
    mine = OrganizationFactory(name="Initech")
    MembershipFactory(organization=mine, user=owner.user, role=Role.VIEWER)
    client = client_for(owner)

    response = client.post(
        reverse("organization_switch"), {"organization_id": mine.pk, "next": DASHBOARD}
    )

    assert response["Location"] == DASHBOARD
    assert "Initech" in client.get(DASHBOARD).content.decode()


def test_the_switch_never_follows_an_address_off_this_site(org, member, other_org):
    owner = member(Role.OWNER)
    client = client_for(owner)

    response = client.post(
        reverse("organization_switch"), {"organization_id": org.pk, "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("organization_members")
    # Another organization's id: not found, and the active one stays.
    refused = client.post(reverse("organization_switch"), {"organization_id": other_org.pk})
    assert refused.status_code == 404
    assert "Globex" not in client.get(DASHBOARD).content.decode()

"""Organization security policies: set by owners (a recent sign-in), audited with what
changed, and enforced for every transport by the resolver and the mutations."""

from __future__ import annotations

import json
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed
from allauth.mfa.models import Authenticator
from django.test import Client

from kernel.errors import ErrorCode
from kernel.permissions import Role
from organizations.models import AuditEvent, Membership, Organization
from tests.accounts.helpers import PASSWORD, login, make_verified_user
from tests.conftest import JSON, bearer, client_for
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

SECURITY = "/organization/security/"


def owner_session(org: Organization, email: str = "owner@example.com") -> Client:
    user = make_verified_user(email)
    MembershipFactory(organization=org, user=user, role=Role.OWNER)
    client = Client()
    login(client, user.email, PASSWORD)  # a fresh sign-in: step-up level 2 passes
    return client


def set_policies(org: Organization, **values: Any) -> None:
    Organization.objects.filter(pk=org.pk).update(**values)


def policies_url(org: Organization) -> str:
    return f"/api/v1/organizations/{org.pk}/policies"


def test_an_owner_sets_the_policies_on_the_page_and_the_change_is_audited(org):
    owner = owner_session(org)
    response = owner.post(
        SECURITY,
        {
            "require_two_factor": "true",
            "allowed_email_domains": "Example.com\nacme.test",
            "auto_join_role": "member",
            "max_api_key_days": "30",
            "api_key_networks": "10.0.0.0/8, 203.0.113.7",
        },
        follow=True,
    )
    assert response.redirect_chain == [(SECURITY, 302)]
    assert "Security policies saved." in response.content.decode()
    org.refresh_from_db()
    assert org.require_two_factor is True
    assert org.allowed_email_domains == ["acme.test", "example.com"]
    assert org.max_api_key_days == 30
    assert org.api_key_networks == ["10.0.0.0/8", "203.0.113.7/32"]
    row = AuditEvent.objects.for_organization(org.pk).get(action="organization.policy_update")
    assert row.actor_label == "owner@example.com"
    assert row.detail["changes"]["max_api_key_days"] == [None, 30]
    assert "require two factor" in row.detail["changed"]


def test_bad_policies_are_field_errors_and_change_nothing(org):
    owner = owner_session(org)
    response = owner.post(
        SECURITY,
        {
            "allowed_email_domains": "not a domain!",
            "max_api_key_days": "0",
            "api_key_networks": "10.0.0.0/33",
        },
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "Not a domain name" in page
    assert "Not an IP network" in page
    answer = owner.put(
        policies_url(org), {"auto_join": True, "auto_join_role": "member"}, content_type=JSON
    )
    assert answer.status_code == 422
    assert "allowed email domain" in json.dumps(answer.json())
    owner_role = owner.put(
        policies_url(org),
        {"allowed_email_domains": ["example.com"], "auto_join_role": "owner"},
        content_type=JSON,
    )
    assert owner_role.json()["error"]["fields"]["auto_join_role"]
    org.refresh_from_db()
    assert (org.allowed_email_domains, org.max_api_key_days, org.api_key_networks) == ([], None, [])
    assert (
        not AuditEvent.objects.for_organization(org.pk)
        .filter(action="organization.policy_update", result="success")
        .exists()
    )


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MEMBER, Role.VIEWER])
def test_only_owners_change_them_everyone_reads_them(org, role):
    user = make_verified_user(f"{role}@example.com")
    MembershipFactory(organization=org, user=user, role=role)
    client = Client()
    login(client, user.email, PASSWORD)
    assert client.get(SECURITY).status_code == 200
    assert client.get(policies_url(org)).json()["require_two_factor"] is False
    page = client.post(SECURITY, {"require_two_factor": "true"})
    assert page.status_code == 403
    answer = client.put(policies_url(org), {"require_two_factor": True}, content_type=JSON)
    assert answer.status_code == 403
    org.refresh_from_db()
    assert org.require_two_factor is False


def test_another_organizations_owner_cannot_read_or_change_them(org, other_org):
    outsider = owner_session(other_org, "outsider@example.com")
    assert outsider.get(policies_url(org)).status_code == 404
    put = outsider.put(policies_url(org), {"require_two_factor": True}, content_type=JSON)
    assert put.status_code == 404
    org.refresh_from_db()
    assert org.require_two_factor is False


def test_changing_them_needs_a_recent_sign_in_and_never_an_api_key(org, member, make_key):
    stale = client_for(member(Role.OWNER))  # signed in long ago (force_login)
    answer = stale.put(policies_url(org), {"require_two_factor": True}, content_type=JSON)
    assert answer.json()["error"]["code"] == ErrorCode.STEP_UP_REQUIRED
    key = make_key(Role.OWNER)
    by_key = Client().put(
        policies_url(org), {"require_two_factor": True}, content_type=JSON, **bearer(key)
    )
    assert by_key.status_code == 403
    org.refresh_from_db()
    assert org.require_two_factor is False


# --- two-factor -------------------------------------------------------------------------------


def test_a_member_without_two_factor_is_sent_to_set_it_up_on_pages_and_the_api(
    org, member, make_key
):
    someone = member(Role.ADMIN)
    browser = client_for(someone)
    assert browser.get("/organization/").status_code == 200
    set_policies(org, require_two_factor=True)

    page = browser.get("/organization/")
    assert page.status_code == 403
    assert "requires two-factor authentication" in page.content.decode()
    assert 'href="/accounts/2fa/">Set up two-factor authentication</a>' in page.content.decode()
    answer = browser.get("/api/v1/members")
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "two_factor_required"
    assert browser.get("/accounts/2fa/").status_code == 200  # they can still set it up
    key = make_key(Role.ADMIN)
    assert Client().get("/api/v1/members", **bearer(key)).status_code == 200  # keys: not people

    Authenticator.objects.create(user=someone.user, type=Authenticator.Type.TOTP, data={})
    assert browser.get("/organization/").status_code == 200  # at once


def test_a_mutation_from_a_member_without_two_factor_is_refused(org, member):
    someone = member(Role.OWNER)
    set_policies(org, require_two_factor=True)
    answer = client_for(someone).post(
        "/api/v1/invitations", {"email": "new@example.com"}, content_type=JSON
    )
    assert answer.json()["error"]["code"] == "two_factor_required"
    assert not org.invitations.exists()


# --- invitations, keys, networks --------------------------------------------------------------


def test_an_invitation_outside_the_allowed_domains_is_a_field_error(org, member):
    admin = client_for(member(Role.ADMIN))
    set_policies(org, allowed_email_domains=["acme.test"])
    page = admin.post("/organization/", {"email": "x@elsewhere.com", "role": "member"})
    assert "only invites addresses at acme.test" in page.content.decode()
    answer = admin.post("/api/v1/invitations", {"email": "x@elsewhere.com"}, content_type=JSON)
    assert answer.status_code == 422
    assert answer.json()["error"]["fields"]["email"] == [
        "This organization only invites addresses at acme.test."
    ]
    assert not org.invitations.exists()
    ok = admin.post("/api/v1/invitations", {"email": "x@ACME.test"}, content_type=JSON)
    assert ok.status_code == 201


def test_an_over_long_key_lifetime_is_refused(org):
    """Keys are created on the page only (never by an API key: it has a step-up level)."""
    owner = owner_session(org)
    set_policies(org, max_api_key_days=30)
    for days in ("90", "0"):
        page = owner.post(
            "/organization/api-keys/",
            {"name": "CI", "permissions": ["organization.read"], "expires_in_days": days},
        )
        assert "Keys here must expire within 30 days." in page.content.decode()
    assert not org.api_keys.exists()
    fine = owner.post(
        "/organization/api-keys/",
        {"name": "CI", "permissions": ["organization.read"], "expires_in_days": "30"},
    )
    assert fine.status_code == 302
    assert org.api_keys.count() == 1


def test_a_key_from_a_refused_address_is_forbidden(org, make_key):
    key = make_key(Role.ADMIN)
    set_policies(org, api_key_networks=["203.0.113.0/24"])
    inside = Client(REMOTE_ADDR="203.0.113.9").get("/api/v1/members", **bearer(key))
    assert inside.status_code == 200
    outside = Client(REMOTE_ADDR="198.51.100.4").get("/api/v1/members", **bearer(key))
    assert outside.status_code == 403
    assert "cannot be used from 198.51.100.4" in outside.json()["error"]["message"]


# --- automatic membership ---------------------------------------------------------------------


def test_verifying_an_address_at_an_allowed_domain_joins_with_the_role(org, other_org, member):
    member(Role.OWNER)
    member(Role.OWNER, organization=other_org)
    set_policies(org, allowed_email_domains=["acme.test"], auto_join=True, auto_join_role="viewer")
    set_policies(other_org, allowed_email_domains=["acme.test"], auto_join=False)
    user = UserFactory(email="new@acme.test")
    address = EmailAddress.objects.create(user=user, email=user.email, verified=True)

    email_confirmed.send(sender=EmailAddress, request=None, email_address=address)

    joined = Membership.objects.unscoped().filter(
        user=user
    )  # across organizations: the test's view
    assert [(m.organization_id, m.role) for m in joined] == [(org.pk, "viewer")]
    row = AuditEvent.objects.for_organization(org.pk).get(action="member.add")
    assert (row.target, row.actor_label) == ("new@acme.test", "automatic membership")
    elsewhere = UserFactory(email="new@other.test")
    other = EmailAddress.objects.create(user=elsewhere, email=elsewhere.email, verified=True)
    email_confirmed.send(sender=EmailAddress, request=None, email_address=other)
    assert not Membership.objects.unscoped().filter(user=elsewhere).exists()


def test_an_invitation_says_the_organization_requires_two_factor(org, member):
    from django.core import mail

    from tests.tasks import run_tasks

    set_policies(org, require_two_factor=True)
    owner = member(Role.OWNER)
    Authenticator.objects.create(user=owner.user, type=Authenticator.Type.TOTP, data={})
    answer = client_for(owner).post(
        "/api/v1/invitations", {"email": "new@example.com"}, content_type=JSON
    )
    assert answer.status_code == 201
    run_tasks()
    (email,) = [m for m in mail.outbox if "new@example.com" in m.to]
    assert "requires two-factor authentication" in email.body

"""The seat rule — members plus pending invitations that have not expired — on the billing
page, in the quantity pushed to the provider, and in the invitation limit: one count."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone
from pytest_httpserver import HTTPServer

from billing.models import PlanSubscription
from billing.tasks import sync_seats_everywhere
from kernel.door import call
from kernel.errors import AppError
from kernel.permissions import Role
from organizations import mutations as org_mutations
from organizations.models import Invitation
from tests.billing.conftest import post_stripe, stripe_event, stripe_subscription
from tests.billing.test_provider_calls import form
from tests.conftest import actor_for, client_for, person_for
from tests.factories import UserFactory
from tests.tasks import run_tasks, sent_mail

pytestmark = pytest.mark.django_db
SEATS = "organization.members"


def invite(owner: Any, email: str) -> Invitation:
    call(org_mutations.invitation_create, actor_for(owner), {"email": email})
    return Invitation.objects.for_organization(owner.organization_id).get(email=email)


def team_plan_at_stripe(org: Any, quantity: int) -> None:
    """Stripe says the organization is on Team with `quantity` seats (its webhook)."""
    post_stripe(
        Client(),
        stripe_event(
            "customer.subscription.updated",
            stripe_subscription(org.pk, price="price_team_monthly", quantity=quantity),
        ),
    )


@pytest.fixture
def stripe_api(httpserver: HTTPServer, providers: Any) -> HTTPServer:
    providers.STRIPE_API_BASE = httpserver.url_for("").rstrip("/")
    providers.BILLING_PROVIDER = "stripe"
    httpserver.expect_request("/v1/subscriptions/sub_123", method="POST").respond_with_json(
        {"id": "sub_123", "object": "subscription"}
    )
    return httpserver


def pushed(stripe_api: HTTPServer) -> list[int]:
    return [int(form(request)["items[0][quantity]"]) for request, _ in stripe_api.log]


def test_the_page_the_sync_and_the_limit_count_the_same_seats(
    stripe_api: HTTPServer, member: Any, org: Any, other_org: Any
) -> None:
    """The defect: Team showed "1 seat billed" with 2 members and a pending invitation."""
    owner = member(Role.OWNER)
    member(Role.MEMBER)
    invite(owner, "pending@example.com")
    invite(member(Role.OWNER, organization=other_org), "elsewhere@example.com")  # not ours
    team_plan_at_stripe(org, quantity=1)
    run_tasks()
    assert pushed(stripe_api) == [3]  # what the provider bills
    team_plan_at_stripe(org, quantity=3)  # Stripe confirms

    page = client_for(owner).get("/billing/").content.decode()
    assert 'data-seats-billed="3"' in page
    assert "3 seats billed" in page
    assert 'data-usage="organization.members">3<' in page  # the limit's own count
    assert "data-seats-used" not in page  # nothing is waiting to be pushed


def test_seats_follow_invitations_created_revoked_accepted_and_expired(
    stripe_api: HTTPServer, member: Any, org: Any
) -> None:
    owner = member(Role.OWNER)
    team_plan_at_stripe(org, quantity=1)
    run_tasks()
    assert pushed(stripe_api) == []  # one member, one seat: nothing to push

    invite(owner, "a@example.com")
    run_tasks()
    assert pushed(stripe_api)[-1] == 2
    team_plan_at_stripe(org, quantity=2)

    second = invite(owner, "b@example.com")
    run_tasks()
    assert pushed(stripe_api)[-1] == 3
    team_plan_at_stripe(org, quantity=3)

    call(org_mutations.invitation_revoke, actor_for(owner), {"invitation_id": second.pk})
    run_tasks()
    assert pushed(stripe_api)[-1] == 2
    team_plan_at_stripe(org, quantity=2)

    # Accepting turns a pending seat into a member: still 2 seats, nothing is pushed.
    token = re.search(r"/invitations/([^/\s]+)/", str(sent_mail()[0].body))
    assert token
    invitee = UserFactory(email="a@example.com")
    calls = len(stripe_api.log)
    call(org_mutations.invitation_accept, person_for(invitee), {"token": token.group(1)})
    run_tasks()
    assert len(stripe_api.log) == calls

    invite(owner, "c@example.com")
    run_tasks()
    team_plan_at_stripe(org, quantity=3)
    calls = len(stripe_api.log)
    # Nothing marks an expiry: the hourly sync finds the seat gone and pushes it.
    with time_machine.travel(
        timezone.now() + timedelta(days=settings.INVITATION_TTL_DAYS, hours=1)
    ):
        sync_seats_everywhere.enqueue()
        run_tasks()
    assert pushed(stripe_api)[calls:] == [2]


def test_removing_a_member_frees_a_seat(stripe_api: HTTPServer, member: Any, org: Any) -> None:
    owner = member(Role.OWNER)
    leaver = member(Role.MEMBER)
    invite(owner, "a@example.com")
    team_plan_at_stripe(org, quantity=3)
    run_tasks()
    call(org_mutations.member_remove, actor_for(owner), {"membership_id": leaver.pk})
    run_tasks()
    assert pushed(stripe_api) == [2]


def test_inviting_past_the_limit_is_refused_by_the_same_count(member: Any, org: Any) -> None:
    owner = member(Role.OWNER)
    member(Role.MEMBER)
    member(Role.MEMBER)
    invite(owner, "one@example.com")
    expiring = invite(owner, "two@example.com")  # 3 members + 2 invitations: the free 5
    page = client_for(owner).get("/billing/").content.decode()
    assert 'data-usage="organization.members">5 <span class="badge badge-warning">' in page
    with pytest.raises(AppError) as refused:
        invite(owner, "three@example.com")
    assert refused.value.code == "plan_limit"
    Invitation.objects.for_organization(org.pk).filter(pk=expiring.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    invite(owner, "three@example.com")  # the expired one no longer holds a seat
    assert not PlanSubscription.objects.for_organization(org.pk).exists()


def test_another_organizations_invitations_push_nothing_here(
    stripe_api: HTTPServer, member: Any, org: Any, other_org: Any
) -> None:
    member(Role.OWNER)
    team_plan_at_stripe(org, quantity=1)
    run_tasks()
    stranger = member(Role.OWNER, organization=other_org)
    invite(stranger, "x@example.com")
    invite(stranger, "y@example.com")
    run_tasks()
    assert pushed(stripe_api) == []

"""The active organization sticks: a new session starts in the organization used last,
never in one the person no longer belongs to."""

from __future__ import annotations

import pytest
from django.test import Client

from kernel.permissions import Role
from organizations.models import Membership
from tests.accounts.helpers import login, make_verified_user
from tests.conftest import client_for
from tests.factories import MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def active(client: Client) -> str:
    response = client.get("/api/v1/me")
    assert response.status_code == 200, response.content
    return str(response.json()["organization"]["name"])


@pytest.fixture
def person():
    user = make_verified_user("ada@example.com")
    first = OrganizationFactory(name="First")
    second = OrganizationFactory(name="Second")
    MembershipFactory(organization=first, user=user, role=Role.OWNER)  # the oldest
    MembershipFactory(organization=second, user=user, role=Role.MEMBER)
    return user, first, second


def sign_out_and_in(client: Client, email: str) -> None:
    client.post("/accounts/logout/")
    assert login(client, email).status_code == 302


def test_signing_in_again_returns_to_the_organization_used_last(person):
    user, _first, second = person
    client = Client()
    login(client, user.email)
    assert active(client) == "First"  # never chosen: the oldest
    client.post("/organization/switch/", {"organization_id": second.pk})
    assert active(client) == "Second"

    sign_out_and_in(client, user.email)
    assert active(client) == "Second"

    other_browser = Client()  # a second device starts there too
    login(other_browser, user.email)
    assert active(other_browser) == "Second"


def test_a_removed_members_remembered_organization_is_not_used(person):
    user, _first, second = person
    client = Client()
    login(client, user.email)
    client.post("/organization/switch/", {"organization_id": second.pk})
    owner = MembershipFactory(organization=second, role=Role.OWNER)
    removed = Membership.objects.for_organization(second.pk).get(user=user)
    response = client_for(owner).post(
        f"/organization/members/{removed.pk}/remove/", {"confirmed": "yes"}
    )
    assert response.status_code == 302
    assert not Membership.objects.for_organization(second.pk).filter(user=user).exists()

    assert active(client) == "First"  # the open session falls back at once
    sign_out_and_in(client, user.email)
    assert active(client) == "First"


def test_switching_to_a_stranger_organization_remembers_nothing(person, other_org):
    user, _first, _second = person
    client = Client()
    login(client, user.email)
    response = client.post("/organization/switch/", {"organization_id": other_org.pk})
    assert response.status_code == 404
    assert not Membership.objects.unscoped().filter(user=user, last_used_at__isnull=False).exists()
    sign_out_and_in(client, user.email)
    assert active(client) == "First"

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from kernel.permissions import Role
from organizations.actors import ACTIVE_ORGANIZATION_SESSION_KEY
from organizations.models import Membership, Organization
from tests.factories import MembershipFactory


def client_for(membership: Membership) -> Client:
    """A signed-in browser session acting in the membership's organization."""
    client = Client()
    client.force_login(membership.user)
    session = client.session
    session[ACTIVE_ORGANIZATION_SESSION_KEY] = membership.organization_id
    session.save()
    return client


@pytest.fixture
def team(org: Organization) -> dict[Role, Membership]:
    """One member of each role in `org`."""
    return {role: MembershipFactory(organization=org, role=role) for role in Role}


@pytest.fixture
def as_role(team: dict[Role, Membership]) -> Callable[[Role], Client]:
    return lambda role: client_for(team[role])

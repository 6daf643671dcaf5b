from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from kernel import actors
from kernel.actor import Actor, Limits, Person
from kernel.actors import ACTIVE_ORGANIZATION_SESSION_KEY
from kernel.permissions import Role
from kernel.sources import MembershipRecord
from organizations.models import Membership, Organization
from tests.factories import MembershipFactory, OrganizationFactory

pytest_plugins = ["tests.browser"]

MakeMember = Callable[..., Membership]


def pytest_configure() -> None:
    from django.conf import settings

    # A deliberately slow hash protects real passwords; tests only need a correct one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _return_worker_thread_connections() -> Iterator[None]:
    """sync_to_async runs ORM calls in asgiref's worker thread, whose connection would stay
    checked out of the pool and block dropping the test database at the end."""
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result()


@pytest.fixture(autouse=True)
def _english_between_tests() -> Iterator[None]:
    """LocaleMiddleware activates a request's language and leaves it active on the thread
    (a server's next request picks its own). A test's German request must not make the
    next test's direct calls German: each test starts, and ends, in the default."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    """Rate limits and used TOTP codes live in the cache (Redis when REDIS_URL is set)."""
    from django.core.cache import cache

    from kernel.principal_cache import CACHE

    cache.clear()
    CACHE.clear()  # keys and plans of the last test's (flushed) database
    yield
    cache.clear()


@pytest.fixture
def org(db: None) -> Organization:
    return OrganizationFactory(name="Acme", slug="acme")


@pytest.fixture
def other_org(db: None) -> Organization:
    return OrganizationFactory(name="Globex", slug="globex")


@pytest.fixture
def member(org: Organization) -> MakeMember:
    """member(role=Role.ADMIN) → a new user with that role in `org` (or organization=...)."""

    def make(role: Role = Role.MEMBER, organization: Organization | None = None) -> Membership:
        return MembershipFactory(organization=organization or org, role=role)

    return make


JSON = "application/json"


def bearer(raw_key: str) -> dict[str, Any]:
    """Test-client keyword arguments sending an API key."""
    return {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}


@pytest.fixture
def api() -> Client:
    """A client with no session: API-key calls only, and no CSRF."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def make_key(org: Organization) -> Callable[..., str]:
    """make_key(role, permissions=None, organization=None, expires_at=None) → a raw key
    whose creator is a new member with `role` (a key acts within its creator's role)."""
    from organizations.mutations import api_key_issue

    def make(
        role: Role = Role.OWNER,
        permissions: list[str] | None = None,
        organization: Organization | None = None,
        expires_at: Any = None,
    ) -> str:
        from kernel.permissions import role_permissions

        creator = MembershipFactory(organization=organization or org, role=role)
        _key, raw = api_key_issue(
            organization_id=(organization or org).pk,
            name="test key",
            permissions=permissions if permissions is not None else role_permissions(role),
            created_by_id=creator.user_id,
            expires_at=expires_at,
        )
        return raw

    return make


def actor_for(membership: Membership) -> Actor:
    """The Actor of a membership, as the resolver builds it (current plan included)."""
    record = MembershipRecord(membership.user_id, membership.organization_id, Role(membership.role))
    return actors.actor_for(record)


def limits_of(organization_id: int) -> Limits:
    """What the organization's current plan allows, as the kernel derives it."""
    return actors.actor_for(MembershipRecord(0, organization_id, Role.VIEWER)).limits


def person_for(user: object) -> Person:
    return Person(user.pk)  # type: ignore[attr-defined]


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


@pytest.fixture
async def stop_hub() -> AsyncIterator[None]:
    """Each async test has its own event loop, hence its own live-query hub: close its
    LISTEN connection at the end, or it would outlive the test database."""
    yield
    from kernel.live.hub import hub

    await hub().aclose()


@pytest.fixture(scope="session", autouse=True)
def _release_test_database(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Before the test database is dropped: end every session still attached to it.

    Threads and event loops of the live-server, socket and browser tests can leave pooled
    connections checked out; PostgreSQL refuses to drop a database in use."""
    yield
    from django.db import connection, connections

    from kernel.principal_cache import CACHE

    CACHE.stop()  # its listening connection
    with django_db_blocker.unblock():
        connections.close_all()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        connections.close_all()

"""API keys, memberships and plans kept between requests (kernel/principal_cache.py):
read once, then served without a query, and never a request late after a change —
whether it was committed by this process or by another connection."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import Grant, SourceType
from kernel.change_capture import database_conninfo
from kernel.permissions import Role
from kernel.principal_cache import CACHE
from organizations.models import ApiKey, Membership
from tests.conftest import JSON, bearer, client_for
from tests.factories import MembershipFactory, OrganizationFactory
from tests.tenant_app.models import Note

pytestmark = pytest.mark.django_db(transaction=True)
FREE_NOTES = 3  # tests/tenant_app/domain.py


@pytest.fixture
def listening() -> None:
    """The cache keeps nothing until its listener is connected."""
    CACHE.read("warm-up", lambda: None, lambda value, read: None)  # starts the listener
    deadline = time.monotonic() + 10
    while not CACHE.listening:
        assert time.monotonic() < deadline, "the cache's listener did not connect"
        time.sleep(0.02)


def credential_queries(client: Client, path: str, headers: dict[str, Any]) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, **headers)
    assert response.status_code == 200, response.content
    tables = (ApiKey._meta.db_table, Grant._meta.db_table, Membership._meta.db_table)
    return [q["sql"] for q in captured if any(table in q["sql"] for table in tables)]


def warm(client: Client, headers: dict[str, Any]) -> None:
    """Read and keep the key. Its first use is written to its row (at most once a minute),
    which drops it at once and again when that write's notification arrives, possibly
    after the next request has kept it: so read until a request needs no query."""
    credential_queries(client, "/api/v1/test-notes", headers)
    eventually(
        lambda: credential_queries(client, "/api/v1/test-notes", headers) == [],
        "the key was never kept",
    )


def eventually(condition: Any, what: str, seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


@pytest.mark.usefixtures("listening")
def test_a_key_and_its_plan_are_read_once_then_served_without_a_query(make_key: Any) -> None:
    api, headers = Client(), bearer(make_key(Role.MEMBER))
    assert credential_queries(api, "/api/v1/test-notes", headers)  # read
    warm(api, headers)
    assert credential_queries(api, "/api/v1/test-notes", headers) == []
    assert credential_queries(api, "/api/v1/test-notes", headers) == []


@pytest.mark.usefixtures("listening")
def test_a_key_revoked_by_another_connection_is_refused_within_one_notification(
    make_key: Any, org: Any
) -> None:
    api, headers = Client(), bearer(make_key(Role.MEMBER))
    warm(api, headers)
    assert credential_queries(api, "/api/v1/test-notes", headers) == []  # cached

    with psycopg.connect(database_conninfo(), autocommit=True) as elsewhere:  # "process B"
        elsewhere.execute(
            f'UPDATE "{ApiKey._meta.db_table}" SET revoked_at = now() WHERE organization_id = %s',
            [org.pk],
        )

    eventually(
        lambda: api.get("/api/v1/test-notes", **headers).status_code == 401,
        "the revoked key still works",
        seconds=2,
    )


@pytest.mark.usefixtures("listening")
def test_a_key_revoked_through_this_process_is_refused_by_the_very_next_request(
    make_key: Any, org: Any
) -> None:
    api, headers = Client(), bearer(make_key(Role.MEMBER))
    warm(api, headers)
    assert credential_queries(api, "/api/v1/test-notes", headers) == []

    ApiKey.objects.for_organization(org.pk).update(revoked_at=timezone.now())

    assert api.get("/api/v1/test-notes", **headers).status_code == 401


@pytest.mark.usefixtures("listening")
def test_a_demoted_creator_s_key_loses_the_role_on_the_next_request(
    make_key: Any, org: Any
) -> None:
    api, headers = Client(), bearer(make_key(Role.MEMBER))
    created = api.post("/api/v1/test-notes", {"title": "a"}, content_type=JSON, **headers)
    assert created.status_code == 201
    warm(api, headers)

    Membership.objects.for_organization(org.pk).update(role=Role.VIEWER)

    refused = api.post("/api/v1/test-notes", {"title": "b"}, content_type=JSON, **headers)
    assert refused.status_code == 403


@pytest.mark.usefixtures("listening")
def test_a_plan_granted_meanwhile_lifts_the_limit_on_the_next_request(
    make_key: Any, org: Any
) -> None:
    api, headers = Client(), bearer(make_key(Role.MEMBER))
    Note.objects.bulk_create(Note(organization=org, title=f"n{n}") for n in range(FREE_NOTES))
    over = api.post("/api/v1/test-notes", {"title": "x"}, content_type=JSON, **headers)
    assert over.status_code == 402  # the plan is cached now

    Grant.objects.create(
        organization=org, capability="feature.pro", plan="pro", source="operator",
        source_type=SourceType.MANUAL,
    )  # fmt: skip

    lifted = api.post("/api/v1/test-notes", {"title": "x"}, content_type=JSON, **headers)
    assert lifted.status_code == 201


@pytest.mark.usefixtures("listening")
def test_a_cached_membership_never_answers_for_another_organization(org: Any) -> None:
    mine = MembershipFactory(organization=org, role=Role.OWNER)
    other = OrganizationFactory()
    browser = client_for(mine)
    assert browser.get(f"/api/v1/organizations/{org.pk}").status_code == 200
    assert browser.get(f"/api/v1/organizations/{org.pk}").status_code == 200  # cached
    assert browser.get(f"/api/v1/organizations/{other.pk}").status_code == 404


@pytest.mark.usefixtures("listening")
def test_a_removed_member_is_refused_on_the_next_request(org: Any) -> None:
    mine = MembershipFactory(organization=org, role=Role.OWNER)
    MembershipFactory(organization=org, role=Role.OWNER)  # someone else keeps it
    browser = client_for(mine)
    assert browser.get(f"/api/v1/organizations/{org.pk}").status_code == 200
    assert browser.get(f"/api/v1/organizations/{org.pk}").status_code == 200

    Membership.objects.for_organization(org.pk).filter(pk=mine.pk).delete()

    assert browser.get(f"/api/v1/organizations/{org.pk}").status_code == 404


def test_inside_a_transaction_nothing_is_cached(make_key: Any) -> None:
    from django.db import transaction

    from kernel import actors

    raw = make_key(Role.MEMBER)
    scope = {"headers": [(b"authorization", f"Bearer {raw}".encode())]}
    before = len(CACHE)
    with transaction.atomic():
        actors.resolve(scope)
    assert len(CACHE) == before


@pytest.mark.usefixtures("listening")
def test_a_cached_key_stops_at_its_expiry_though_no_row_changes(make_key: Any) -> None:
    from datetime import timedelta

    api = Client()
    headers = bearer(make_key(Role.MEMBER, expires_at=timezone.now() + timedelta(seconds=1.5)))
    warm(api, headers)
    assert credential_queries(api, "/api/v1/test-notes", headers) == []  # served from cache
    time.sleep(1.6)
    assert api.get("/api/v1/test-notes", **headers).status_code == 401


@pytest.mark.usefixtures("listening")
def test_a_cached_plan_ends_when_its_grant_expires(make_key: Any, org: Any) -> None:
    from datetime import timedelta

    Grant.objects.create(
        organization=org, capability="feature.pro", plan="pro", source="operator",
        source_type=SourceType.MANUAL, expires_at=timezone.now() + timedelta(seconds=1.5),
    )  # fmt: skip
    api, headers = Client(), bearer(make_key(Role.MEMBER))
    for n in range(FREE_NOTES + 1):  # past the free limit: the grant's plan allows it
        created = api.post("/api/v1/test-notes", {"title": f"{n}"}, content_type=JSON, **headers)
        assert created.status_code == 201
    time.sleep(1.6)
    over = api.post("/api/v1/test-notes", {"title": "late"}, content_type=JSON, **headers)
    assert over.status_code == 402


@pytest.mark.usefixtures("listening")
def test_connections_opened_while_a_key_is_read_leave_no_wrapper_behind(make_key: Any) -> None:
    """A server thread's requests each open their connection (the pool's CONN_MAX_AGE =
    0) with their first statement: for an API key not cached yet, inside the cache's
    recording of the lookup. The connection's own wrapper used to be appended then,
    popped by the recording on leaving, and the recording left behind: one more per
    request, until the thread's statements hit the recursion limit (seen in daphne at
    ~1,000 socket subscriptions with distinct keys)."""
    import threading

    from kernel.principal_cache import _note_writes

    keys = [bearer(make_key(Role.MEMBER)) for _ in range(5)]
    left: list[Any] = []

    def serve() -> None:  # a new thread: its first connection opens inside a request
        try:
            for headers in keys:
                assert Client().get("/api/v1/test-notes", **headers).status_code == 200
                connection.close()  # as at the end of a server's request
            left.extend(connection.execute_wrappers)
        finally:
            connection.close()

    thread = threading.Thread(target=serve)
    thread.start()
    thread.join()
    assert left == [_note_writes]

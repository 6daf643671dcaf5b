"""Idempotent mutations: a repeat by the same principal, with the same key and the same
arguments, replays the first result; nothing else ever does. On the test-only notes
domain; the socket's mutation ids use the same records (tests/kernel/test_live.py)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import connections
from django.test import Client

from kernel.door import run
from kernel.errors import AppError
from kernel.models import IdempotencyRecord
from kernel.permissions import Role
from tests.conftest import JSON, actor_for, bearer
from tests.factories import OrganizationFactory
from tests.tenant_app.models import Note
from tests.tenant_app.mutations import note_create

O, V = Role.OWNER, Role.VIEWER


def create(api, raw: str, title: str, key: str):
    return api.post(
        "/api/v1/test-notes",
        {"title": title},
        content_type=JSON,
        HTTP_IDEMPOTENCY_KEY=key,
        **bearer(raw),
    )


def test_the_same_create_twice_makes_one_note(api, make_key, org):
    raw = make_key(O)
    first, second = create(api, raw, "Once", "k1"), create(api, raw, "Once", "k1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Note.objects.for_organization(org.pk).count() == 1


def test_a_reused_key_with_other_arguments_is_a_conflict(api, make_key, org):
    raw = make_key(O)
    create(api, raw, "A", "k2")
    reused = create(api, raw, "B", "k2")
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "conflict"
    assert Note.objects.for_organization(org.pk).count() == 1


def test_the_fingerprint_is_the_validated_arguments(api, make_key, org):
    """'  Once ' and 'Once' are the same note once validated: the same call."""
    raw = make_key(O)
    create(api, raw, "Once", "k3")
    assert create(api, raw, "  Once ", "k3")["Idempotent-Replayed"] == "true"


def test_keys_belong_to_their_principal(api, make_key, org, other_org):
    """Two keys of one organization, and keys of two organizations, never share one."""
    for raw in (make_key(O), make_key(O), make_key(O, organization=other_org)):
        response = create(api, raw, "Same", "shared")
        assert response.status_code == 201
        assert "Idempotent-Replayed" not in response
    assert Note.objects.for_organization(org.pk).count() == 2


def test_a_replay_happens_only_after_the_permission_check(api, make_key, org):
    """A viewer who repeats an owner's call with the same key gets 403, not the result."""
    owner_key, viewer_key = make_key(O), make_key(V)
    assert create(api, owner_key, "Secret", "k4").status_code == 201
    repeated = create(api, viewer_key, "Secret", "k4")
    assert repeated.status_code == 403
    assert "Secret" not in repeated.content.decode()


def test_a_failed_mutation_records_nothing_and_may_be_retried(api, make_key, org):
    raw = make_key(O)
    headers = {**bearer(raw), "HTTP_IDEMPOTENCY_KEY": "k5"}
    failed = api.post("/api/v1/test-notes/fail", {"title": "x"}, content_type=JSON, **headers)
    assert failed.status_code == 500
    assert not IdempotencyRecord.objects.exists()
    assert not Note.objects.for_organization(org.pk).exists()  # the write went with it
    again = api.post("/api/v1/test-notes/fail", {"title": "x"}, content_type=JSON, **headers)
    assert again.status_code == 500  # ran again: not "committed but replays as 409"


def test_the_record_is_written_in_the_mutations_transaction(org, member):
    actor = actor_for(member(O))
    outcome = run(note_create, actor, {"title": "In one"}, idempotency_key="k6")
    record = IdempotencyRecord.objects.get()
    assert (record.principal, record.organization_id, record.function, record.key) == (
        f"user:{actor.user_id}",
        org.pk,
        "notes.create",
        "k6",
    )
    assert run(note_create, actor, {"title": "In one"}, idempotency_key="k6").replayed
    assert outcome.value.id == Note.objects.for_organization(org.pk).get().pk


def test_records_expire_after_a_day_and_prune_deletes_them(org, member):
    actor = actor_for(member(O))
    run(note_create, actor, {"title": "Old"}, idempotency_key="k7")
    with time_machine.travel(timedelta(hours=25)):
        again = run(note_create, actor, {"title": "Old"}, idempotency_key="k7")
        assert not again.replayed  # a new call after 24 hours
    assert Note.objects.for_organization(org.pk).count() == 2
    IdempotencyRecord.objects.update(created_at="2000-01-01T00:00:00Z")
    call_command("prune")
    assert not IdempotencyRecord.objects.exists()


def test_an_over_long_key_is_invalid_input(org, member):
    with pytest.raises(AppError) as raised:
        run(note_create, actor_for(member(O)), {"title": "x"}, idempotency_key="k" * 201)
    assert raised.value.fields == {"Idempotency-Key": ["Use 1 to 200 characters."]}


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_make_one_note_and_all_get_its_result(make_key):
    org = OrganizationFactory()
    raw = make_key(O, organization=org)
    start = threading.Barrier(4, timeout=10)
    answers: list[tuple[int, int | None]] = []

    def send() -> None:
        try:
            start.wait()
            response = create(Client(), raw, "Race", "race")
            answers.append((response.status_code, response.json().get("id")))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    note = Note.objects.for_organization(org.pk).get()
    assert answers == [(201, note.pk)] * 4  # the loser retries, then replays the winner

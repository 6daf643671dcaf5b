"""The door's rules, on the test-only notes domain: who may call what, in which order, as
which principal, and what each kind of function may and may not do."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.db import transaction

from kernel.actions import ActionInTransactionError
from kernel.actor import API_KEY, SYSTEM, Person, System
from kernel.door import call, run
from kernel.errors import AppError
from kernel.functions import FUNCTIONS
from kernel.permissions import Role
from tests.conftest import actor_for
from tests.tenant_app.models import Note

O, M, V = Role.OWNER, Role.MEMBER, Role.VIEWER


def test_the_permission_is_checked_before_the_input_is_judged(org, member):
    with pytest.raises(AppError) as raised:
        call(FUNCTIONS["notes.create"], actor_for(member(V)), {"title": 7, "extra": 1})
    assert raised.value.code == "forbidden"  # not the validation errors
    with pytest.raises(AppError) as raised:
        call(FUNCTIONS["notes.create"], actor_for(member(M)), {"title": 7})
    assert raised.value.code == "invalid_input"


def test_internal_functions_run_for_the_system_and_public_ones_never_do(org, member):
    Note.objects.create(organization=org, title="a")
    assert call(FUNCTIONS["notes.count_everywhere"], SYSTEM) == 1
    with pytest.raises(AppError) as raised:
        call(FUNCTIONS["notes.list"], System("operator x"))
    assert raised.value.code == "forbidden"


def test_personal_functions_act_for_a_person_never_an_api_key(org, member):
    mine = member(M)
    assert call(FUNCTIONS["notes.whoami"], Person(mine.user_id)) == mine.user_id
    assert call(FUNCTIONS["notes.whoami"], actor_for(mine)) == mine.user_id
    key_actor = replace(actor_for(mine), user_id=None, auth=API_KEY, api_key_id=1)
    with pytest.raises(AppError) as raised:
        call(FUNCTIONS["notes.whoami"], key_actor)
    assert raised.value.code == "forbidden"


def test_the_plan_limit_has_one_message_and_names_what_lifts_it(org, member):
    actor = actor_for(member(O))
    for n in range(3):
        call(FUNCTIONS["notes.create"], actor, {"title": f"n{n}"})
    with pytest.raises(AppError) as raised:
        call(FUNCTIONS["notes.create"], actor, {"title": "one more"})
    assert (raised.value.code, raised.value.message) == (
        "plan_limit",
        "The Free plan allows up to 3 notes. Upgrade to Pro for more.",
    )


def test_a_mutation_refused_inside_its_transaction_leaves_nothing(org, member):
    with pytest.raises(RuntimeError):
        call(FUNCTIONS["notes.fail_after_write"], actor_for(member(M)), {"title": "x"})
    assert not Note.objects.for_organization(org.pk).exists()


def test_a_step_up_mutation_refuses_an_actor_without_a_grant(org, member):
    with pytest.raises(AppError) as raised:
        call(FUNCTIONS["notes.purge"], actor_for(member(O)))
    assert raised.value.code == "step_up_required"
    assert raised.value.step_up_action == "notes.purge"


@pytest.mark.django_db(transaction=True)
def test_an_action_refuses_to_run_inside_a_transaction():
    from billing.actions import open_portal
    from tests.factories import MembershipFactory

    owner = actor_for(MembershipFactory(role=O))
    with pytest.raises(ActionInTransactionError), transaction.atomic():
        run(open_portal, owner)  # refused before it could call out with a transaction open

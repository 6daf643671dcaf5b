"""The demo's onboarding step (its manifest's `Step`) on the shell's dashboard."""

from __future__ import annotations

import re

import pytest

from kernel.door import call
from kernel.permissions import Role
from tests.conftest import actor_for, client_for
from workspace_records.domain import domain
from workspace_records.mutations import record_create

pytestmark = pytest.mark.django_db


def test_the_first_record_step_ticks_once_a_record_exists(org, member):
    owner = member(Role.OWNER)
    (step,) = domain.onboarding
    ticked = rf'data-done="true">(?:(?!</a>).)*{re.escape(str(step.label))}'

    assert not re.search(ticked, client_for(owner).get("/dashboard/").content.decode(), re.S)
    call(record_create, actor_for(owner), {"title": "First"})
    assert re.search(ticked, client_for(owner).get("/dashboard/").content.decode(), re.S)


def test_viewers_are_not_asked_to_create_one(org, member):
    (step,) = domain.onboarding
    assert (
        str(step.label) not in client_for(member(Role.VIEWER)).get("/dashboard/").content.decode()
    )

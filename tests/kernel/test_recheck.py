"""Re-checking many socket actors at once (the live hub, before every re-run): the same
answers as the one resolver, in a bounded number of queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kernel.actors import ACTIVE_ORGANIZATION_SESSION_KEY, recheck, resolve
from kernel.errors import AppError
from kernel.permissions import Role
from organizations.models import ApiKey, Membership
from organizations.mutations import api_key_issue
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def key_scope(organization_id: int, role: Role = Role.MEMBER) -> dict[str, Any]:
    creator = MembershipFactory(organization_id=organization_id, role=role)
    _key, raw = api_key_issue(organization_id=organization_id, name="k",
                              permissions=["notes.read"], created_by_id=creator.user_id)  # fmt: skip
    return {"headers": [(b"authorization", f"Bearer {raw}".encode())]}


def session_scope(membership: Membership) -> dict[str, Any]:
    return {
        "user": membership.user,
        "session": {ACTIVE_ORGANIZATION_SESSION_KEY: membership.organization_id},
    }


def test_the_same_answers_as_resolving_one_by_one(org: Any, other_org: Any, member: Any) -> None:
    scopes = [key_scope(org.pk), key_scope(other_org.pk, Role.VIEWER),
              session_scope(member(Role.ADMIN)), session_scope(member(Role.VIEWER, organization=other_org))]  # fmt: skip
    assert recheck(scopes) == [resolve(scope) for scope in scopes]


def test_revoked_keys_and_removed_members_come_back_as_errors(org: Any, member: Any) -> None:
    revoked, kept = key_scope(org.pk), key_scope(org.pk)
    gone = member(Role.MEMBER)
    first = ApiKey.objects.for_organization(org.pk).order_by("pk").first()
    assert first is not None
    ApiKey.objects.for_organization(org.pk).filter(pk=first.pk).update(revoked_at=timezone.now())
    scope_of_gone = session_scope(gone)
    gone.delete()
    answers = recheck([revoked, kept, scope_of_gone])
    assert isinstance(answers[0], AppError)
    assert answers[0].code == "unauthenticated"
    assert not isinstance(answers[1], AppError)
    assert isinstance(answers[2], AppError)
    assert answers[2].code == "forbidden"


def test_queries_do_not_grow_with_the_number_of_actors(
    org: Any, other_org: Any, member: Any
) -> None:
    def queries_for(count: int) -> int:
        scopes = [key_scope(org.pk) for _ in range(count)]
        scopes += [session_scope(member(Role.MEMBER)) for _ in range(count)]
        with CaptureQueriesContext(connection) as captured:
            recheck(scopes)
        return len(captured)

    assert queries_for(2) == queries_for(20)


def test_a_recheck_is_not_an_api_call(org: Any, settings: Any) -> None:
    settings.API_KEY_RATE_LIMIT_PER_MINUTE = 2
    scope = key_scope(org.pk)
    for _ in range(10):
        (actor,) = recheck([scope])
        assert not isinstance(actor, AppError)
    assert ApiKey.objects.for_organization(org.pk).get().last_used_at is None


def test_a_user_deactivated_since_connecting_is_refused(member: Any) -> None:
    membership = member(Role.MEMBER)
    scope = session_scope(membership)
    type(membership.user).objects.filter(pk=membership.user_id).update(is_active=False)
    (answer,) = recheck([scope])  # the scope still holds the user as loaded
    assert isinstance(answer, AppError)
    assert answer.code == "forbidden"

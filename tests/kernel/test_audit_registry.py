"""The audit log is complete because the registry says so: every registered mutation
declares its audit action or why it has none (kernel.E014), and every audited one, called
through the door, writes exactly one row in its transaction — none when the transaction
rolls back, one (the refusal, with the permission and the reason) when it is refused.

Each audited mutation has a scenario below (who calls it, with what), or is a domain's
plain create/update/delete, which `_generic` builds (what `manage.py startdomain` writes
needs nothing here). A new one neither can call fails
`test_every_audited_mutation_has_a_scenario`; one that writes no row or two fails
`test_each_audited_mutation_writes_exactly_one_row`."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Any

import pytest
from django.test import RequestFactory
from django.utils import timezone
from pydantic.fields import FieldInfo

from accounts.models import SecurityEvent
from billing.models import Grant, SourceType, WebhookEvent
from kernel import audit, checks, door
from kernel.actor import Person, System
from kernel.audit import Entry
from kernel.errors import AppError
from kernel.functions import FUNCTIONS, Function, Kind
from kernel.inputs import NoInput
from kernel.permissions import Role
from organizations.audit import AuditAction
from organizations.audit import audit as write_row
from organizations.exports import link_token
from organizations.models import (
    ApiKey,
    AuditEvent,
    DataExport,
    Invitation,
    Membership,
    Organization,
)
from organizations.mutations import _hash_token, api_key_issue
from tests.conftest import actor_for
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

OPERATOR = System("operator ops@example.com")

AUDITED = sorted(
    (f for f in FUNCTIONS.values() if f.kind is Kind.MUTATION and f.audit), key=lambda f: f.name
)

NO_ROW: dict[str, str] = {}
"""Audited mutations whose successful call leaves no row in any organization's log."""


@dataclass
class World:
    org: Organization
    owner: Membership
    admin: Membership
    member: Membership


@pytest.fixture
def world(org: Organization) -> World:
    return World(
        org,
        MembershipFactory(organization=org, role=Role.OWNER),
        MembershipFactory(organization=org, role=Role.ADMIN),
        MembershipFactory(organization=org, role=Role.MEMBER),
    )


Call = tuple[Any, dict[str, Any]]


def _invitation(w: World, email: str | None = None) -> tuple[Invitation, str]:
    token = secrets.token_urlsafe(16)
    invitation = Invitation.objects.create(
        organization=w.org,
        email=email or UserFactory().email,
        role=Role.MEMBER,
        token_hash=_hash_token(token),
        expires_at=timezone.now() + timedelta(days=3),
        last_sent_at=timezone.now() - timedelta(days=1),
    )
    return invitation, token


def _invited(w: World) -> Call:
    user = UserFactory()
    _, token = _invitation(w, user.email)
    return Person(user.pk), {"token": token}


def _key(w: World) -> ApiKey:
    key, _ = api_key_issue(
        organization_id=w.org.pk, name="ci", permissions=[], created_by_id=w.owner.user_id
    )
    return key


def _grant(w: World) -> Grant:
    return Grant.objects.create(
        organization=w.org,
        capability="feature.pro",
        plan="pro_monthly",
        source="manual:test",
        source_type=SourceType.MANUAL,
    )


def _event(w: World) -> Call:
    event = WebhookEvent.objects.create(
        provider="local",
        event_id=f"evt_{secrets.token_hex(4)}",
        type="subscription.updated",
        occurred_at=timezone.now(),
        payload={
            "data": {
                "id": "sub_local_1",
                "plan": "pro_monthly",
                "organization_id": w.org.pk,
                "status": "active",
                "seats": 1,
                "cancel_at_period_end": False,
            }
        },
    )
    return System("Local payments"), {"event_pk": event.pk}


def _reconciled(w: World) -> Call:
    state = {
        "provider": "local",
        "external_id": "sub_local_2",
        "organization_id": w.org.pk,
        "customer_id": f"cus_local_{w.org.pk}",
        "plan": "team_monthly",
        "status": "active",
        "seats": 3,
        "current_period_end": None,
        "cancel_at_period_end": False,
        "trial_end": None,
        "ended_at": None,
        "item_id": "",
        "as_of": timezone.now(),
    }
    return System("Local payments"), state


def _staff() -> System:
    staff = UserFactory(is_staff=True)
    return System(f"operator {staff.email}", operator_id=staff.pk)


def _with_status(w: World, status: str) -> Organization:
    due = timezone.now() + timedelta(days=3) if status == "pending_deletion" else None
    Organization.objects.filter(pk=w.org.pk).update(status=status, deletion_due_at=due)
    return w.org


def _operator_on(status: str) -> Callable[[World], Call]:
    def build(w: World) -> Call:
        organization = _with_status(w, status)
        return _staff(), {"organization_id": organization.pk, "reason": "Support ticket 4711"}

    return build


def _ready_export(w: World) -> Call:
    export = DataExport.objects.create(
        kind=DataExport.Kind.ORGANIZATION,
        organization=w.org,
        requested_by=w.owner.user,
        requested_by_label=w.owner.user.email,
        status=DataExport.Status.READY,
        file="audit-walk.zip",
        expires_at=timezone.now() + timedelta(hours=1),
    )
    return actor_for(w.owner), {"token": link_token(export.pk)}


SCENARIOS: dict[str, Callable[[World], Call]] = {
    "export.request": lambda w: (actor_for(w.owner), {}),
    "organization.policies_update": lambda w: (actor_for(w.owner), {"max_api_key_days": 30}),
    "organizations.auto_join": lambda w: (
        System("automatic membership"),
        {"user_id": UserFactory().pk, "organization_id": w.org.pk},
    ),
    "export.download": _ready_export,
    "organizations.suspend": _operator_on("active"),
    "organizations.reactivate": _operator_on("suspended"),
    "organizations.restore_by_operator": _operator_on("pending_deletion"),
    "organizations.purge_by_operator": _operator_on("active"),
    "organizations.restore": lambda w: (
        Person(w.owner.user_id),
        {"organization_id": _with_status(w, "pending_deletion").pk},
    ),
    "api_keys.create": lambda w: (
        actor_for(w.owner),
        {"name": "ci", "permissions": ["organization.read"]},
    ),
    "api_keys.revoke": lambda w: (actor_for(w.owner), {"key_id": _key(w).pk}),
    "billing.apply_event": _event,
    "billing.grant_plan": lambda w: (
        OPERATOR,
        {"organization_id": w.org.pk, "plan_code": "team_monthly", "note": "partner"},
    ),
    "billing.grant_revoke": lambda w: (OPERATOR, {"grant_id": _grant(w).pk}),
    "billing.subscription_reconciled": _reconciled,
    "invitations.accept": _invited,
    "invitations.decline": _invited,
    "invitations.create": lambda w: (actor_for(w.admin), {"email": "new@example.com"}),
    "invitations.resend": lambda w: (
        actor_for(w.admin),
        {"invitation_id": _invitation(w)[0].pk},
    ),
    "invitations.revoke": lambda w: (
        actor_for(w.admin),
        {"invitation_id": _invitation(w)[0].pk},
    ),
    "members.leave": lambda w: (actor_for(w.member), {}),
    "members.remove": lambda w: (actor_for(w.owner), {"membership_id": w.member.pk}),
    "members.update_role": lambda w: (
        actor_for(w.owner),
        {"membership_id": w.member.pk, "role": "admin"},
    ),
    "memberships.remove_by_operator": lambda w: (OPERATOR, {"membership_id": w.member.pk}),
    "memberships.save_by_operator": lambda w: (
        OPERATOR,
        {"organization_id": w.org.pk, "user_id": UserFactory().pk, "role": "member"},
    ),
    "organization.delete": lambda w: (actor_for(w.owner), {"confirm_name": w.org.name}),
    "organization.rename": lambda w: (actor_for(w.owner), {"name": "Acme Two"}),
    "organization.transfer": lambda w: (actor_for(w.owner), {"membership_id": w.admin.pk}),
    "organizations.create": lambda w: (Person(w.member.user_id), {"name": "Side project"}),
    "organizations.create_personal": lambda w: (Person(UserFactory().pk), {}),
}
"""Explicit scenarios; a domain's plain create/update/delete (the demo's records, and what
`manage.py startdomain` writes) is built by `_generic`."""


def _value(name: str, field: FieldInfo, made: dict[str, Any]) -> Any:
    """A valid value for a required field of a plain domain input."""
    if name in made:
        return made[name]
    annotation = field.annotation
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return next(iter(annotation)).value
    return 1 if annotation is int else "Audit walk"


def _generic(function: Function, w: World) -> Call | None:
    """An owner calls it; the object it names (`<x>_id`, `version`) is made first by the
    domain's own `<app>.create`, through the door."""
    app, _, verb = function.name.rpartition(".")
    create = FUNCTIONS.get(f"{app}.create")
    if function.internal or function.personal or create is None:
        return None
    owner = actor_for(w.owner)
    made: dict[str, Any] = {}
    if verb != "create":
        row = door.call(create, owner, _fill(create, {}))
        made = {name: row.id for name in function.input.model_fields if name.endswith("_id")}
        made["version"] = getattr(row, "version", 1)
    return owner, _fill(function, made)


def _fill(function: Function, made: dict[str, Any]) -> dict[str, Any]:
    fields = function.input.model_fields
    return {n: _value(n, f, made) for n, f in fields.items() if f.is_required() or n in made}


def scenario(function: Function, w: World) -> Call:
    build = SCENARIOS.get(function.name)
    found = build(w) if build is not None else _generic(function, w)
    assert found is not None, f"add a scenario for {function.name} to {__name__}.SCENARIOS"
    return found


@pytest.fixture(autouse=True)
def _no_step_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Step-up is the door's business and tested on its own (tests/accounts): here every
    call has confirmed it was them."""
    monkeypatch.setattr(door, "require_step_up", lambda *args, **kwargs: None)


def _rows() -> set[int]:
    return set(AuditEvent.objects.unscoped().values_list("pk", flat=True))  # every log


def _audited(name: str) -> Function:
    return next(f for f in AUDITED if f.name == name)


def test_every_mutation_declares_its_audit_action_or_why_it_has_none():
    """A tenant-changing mutation added without `audit=` fails here and in `manage.py
    check` (kernel.E014); an exemption says why, next to the mutation."""
    mutations = [f for f in FUNCTIONS.values() if f.kind is Kind.MUTATION]
    assert [e.id for e in checks.function_errors(mutations)] == []
    for function in mutations:
        assert bool(function.audit) != bool(function.unaudited), function.name
    routed_unaudited = {f.name for f in mutations if f.unaudited and f.permission}
    assert {name for name in routed_unaudited if not name.startswith("notes.")} == set(), (
        "only the kernel's test domain may leave an organization's mutation unaudited"
    )


def test_a_mutation_without_an_audit_action_fails_the_check():
    def body(*, actor: object) -> None:
        return None

    def made(name: str, **options: Any) -> Function:
        return Function(name, Kind.MUTATION, body, NoInput, None, internal=True, **options)

    bare = made("test.bare")
    both = made("test.both", audit="member.remove", unaudited="x")
    unnamed = made("test.unnamed", audit="test.nowhere")
    found = checks.function_errors([bare, both, unnamed])
    assert [e.id for e in found] == ["kernel.E014", "kernel.E014", "kernel.E015"]


def test_every_audited_mutation_has_a_scenario(world: World):
    assert set(SCENARIOS) <= {f.name for f in AUDITED}, "a scenario for a mutation gone"
    generic = [f.name for f in AUDITED if f.name not in SCENARIOS]
    if "records.create" in FUNCTIONS:  # the demo domain, while it is installed
        assert {"records.create", "records.update", "records.delete"} <= set(generic)
    for name in generic:
        scenario(_audited(name), world)


@pytest.mark.parametrize("function", AUDITED, ids=lambda f: f.name)
def test_each_audited_mutation_writes_exactly_one_row(function: Function, world: World):
    principal, raw = scenario(function, world)
    before = _rows()
    door.call(function, principal, raw)
    new = AuditEvent.objects.unscoped().exclude(pk__in=before)
    if function.name in NO_ROW:
        assert not new.exists()
        assert SecurityEvent.objects.filter(kind=function.name).exists()
        return
    assert new.count() == 1, f"{function.name} wrote {new.count()} rows"
    row = new.get()
    assert row.result == AuditEvent.Result.SUCCESS
    assert row.action.split(".")[0] == str(function.audit).split(".")[0]  # or its twin
    assert row.target, "describe() says what the row is about"
    assert row.target_type
    if isinstance(principal, System):
        assert row.actor_label == principal.label


@pytest.mark.parametrize("function", AUDITED, ids=lambda f: f.name)
def test_no_row_stays_when_the_transaction_rolls_back(
    function: Function, world: World, monkeypatch: pytest.MonkeyPatch
):
    """A failure after the row was written (the last step inside the transaction) takes
    the row with it: it was written in the mutation's transaction."""
    principal, raw = scenario(function, world)
    written: list[Entry | None] = []
    real_write = audit.write

    def write_then_fail(who: Any, entry: Entry | None) -> None:
        real_write(who, entry)
        written.append(entry)
        raise RuntimeError("failed after the audit row")

    monkeypatch.setattr(audit, "write", write_then_fail)
    before = _rows()
    with pytest.raises(RuntimeError):
        door.call(function, principal, raw)
    assert written, "the door writes the row inside the transaction"
    assert _rows() == before


ROUTED = [f for f in AUDITED if not f.internal and not f.personal]


@pytest.mark.parametrize("function", ROUTED, ids=lambda f: f.name)
def test_a_refused_call_writes_one_row_with_the_permission_and_the_reason(
    function: Function, world: World
):
    """An API key holding no permission is refused by the catalogue: the one row says
    which key, what it needed and why it was refused; nothing else is written."""
    _, raw = scenario(function, world)
    key, secret = api_key_issue(
        organization_id=world.org.pk,
        name="read nothing",
        permissions=[],
        created_by_id=world.owner.user_id,
    )
    request = RequestFactory().post("/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    before = _rows()
    with pytest.raises(AppError):
        door.call(function, request, raw)
    (row,) = AuditEvent.objects.unscoped().exclude(pk__in=before)
    assert (row.organization_id, row.action, row.result) == (
        world.org.pk,
        function.audit,
        AuditEvent.Result.DENIED,
    )
    assert (row.permission, row.api_key_id) == (function.permission, key.pk)
    assert row.actor_label == f"API key “read nothing” (#{key.pk})"
    assert row.reason


def _writes_twice(*, actor: Any) -> None:
    audit.describe(target="x", target_type="test")
    write_row(organization_id=actor.organization_id, action="member.remove", actor=actor)


def _writes_nothing(*, actor: Any) -> None:
    audit.unchanged()


@pytest.mark.parametrize("body", [_writes_twice, _writes_nothing])
def test_the_walk_fails_for_a_mutation_writing_two_rows_or_none(body, world, monkeypatch):
    """The walk above would catch these: a body that also writes its own row, or one that
    says it changed nothing when it did."""
    broken = Function(
        "test.broken",
        Kind.MUTATION,
        body,
        NoInput,
        None,
        permission="organization.update",
        audit=AuditAction.MEMBER_REMOVE,
    )
    monkeypatch.setitem(SCENARIOS, broken.name, lambda w: (actor_for(w.owner), {}))
    with pytest.raises(AssertionError):
        test_each_audited_mutation_writes_exactly_one_row(broken, world)

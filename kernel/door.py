"""The door: the one way to run a registered function, for every transport.

    value = call(record_create, request, request.POST)      # a page
    outcome = run(record_create, request, body, idempotency_key=key)   # the API
    value = call(record_create, actor, {"title": "Hello"})  # Python, tests, the socket

In order:
  1. who      the principal, resolved from the source (kernel/actors.py)
  2. may they the catalogue permission (role, API key scopes, plan capability): a caller
              who may not call the function learns nothing more, whatever it sent
  3. what     the raw input validated by the function's model (kernel/inputs.py)
  4. run      a query as it is; an action outside any transaction; a mutation in its
              SERIALIZABLE transaction, where the actor is re-read and checked again, an
              idempotent repeat is replayed (after the checks, never before), step-up is
              checked (a single-use grant spent), and the idempotency record is written
  5. result   converted to the function's output

Failures are AppErrors; each transport renders them with its one handler.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from django.db import connection
from pydantic import BaseModel, ValidationError

from kernel import actors, audit, errors, idempotency
from kernel.actions import require_no_transaction
from kernel.actor import Actor, Person, Principal, System
from kernel.functions import Function, Kind, function_refused
from kernel.guard import check_grant
from kernel.inputs import Input, field_errors
from kernel.limits import bounded, one_at_a_time
from kernel.mutations import in_mutation, serializable
from kernel.permissions import get_permission
from kernel.stepup import require_step_up


@dataclass(frozen=True, slots=True)
class Outcome:
    value: Any
    replayed: bool = False
    """The value is the stored result of an earlier call with the same idempotency key."""


def call(
    function: Function,
    source: actors.Source | System,
    raw: Mapping[str, Any] | BaseModel | None = None,
    *,
    organization_id: int | None = None,
) -> Any:
    """Run `function` for `source` with `raw` input; return its output."""
    return run(function, source, raw, organization_id=organization_id).value


def run(
    function: Function,
    source: actors.Source | System,
    raw: Mapping[str, Any] | BaseModel | None = None,
    *,
    organization_id: int | None = None,
    idempotency_key: str | None = None,
) -> Outcome:
    """`call`, also saying whether an idempotency key replayed an earlier result.
    `organization_id`: act in that organization (an API path names it) instead of the
    session's active one."""
    principal = principal_for(function, source, organization_id)
    admit(function, principal)
    args = validate(function, raw)
    if function.kind is Kind.MUTATION:
        key = idempotency.check_key(idempotency_key) if idempotency_key is not None else None
        with _refusals_sent(function, principal), _counted(function, principal):
            return serializable(
                lambda: _mutate(function, principal, args, key),
                name=function.name,
                attempts=function.attempts,
            )
    if function.kind is Kind.ACTION:
        require_no_transaction(function.name)
    if function.step_up:
        require_step_up(principal, function.step_up, consume=True)
    return Outcome(function.convert(function.invoke(principal, args)))


@contextmanager
def _refusals_sent(function: Function, principal: Principal) -> Iterator[None]:
    """A mutation refused (an AppError) by the outermost call, its transaction rolled
    back: `function_refused`, so the refusal is recorded where it survives."""
    try:
        yield
    except errors.AppError as error:
        if not in_mutation():
            function_refused.send(Function, function=function, principal=principal, error=error)
        raise


def _counted(function: Function, principal: Principal) -> AbstractContextManager[None]:
    """One at a time per organization, if the call uses up a limit its plan bounds (and
    it is the outermost transaction: a nested call is inside the caller's already)."""
    if (
        function.counts is None
        or not isinstance(principal, Actor)
        or not bounded(principal, function.counts)
        or connection.in_atomic_block
    ):
        return nullcontext()
    return one_at_a_time(principal.organization_id, function.counts)


def principal_for(
    function: Function, source: actors.Source | System, organization_id: int | None = None
) -> Principal:
    """Who the function runs as: an Actor in an organization, a Person, or (internal
    functions only) System."""
    if isinstance(source, System):
        if not function.internal:
            raise errors.forbidden("Only people and API keys call this function.")
        return source
    if function.personal:
        return actors.resolve_person(source)
    if function.internal and isinstance(source, Actor | Person):
        return source
    return actors.resolve(source, organization_id=organization_id)


IMPERSONATION_REFUSED = (
    "While viewing as another person you cannot do this: only they can, signed in themselves."
)


def refuse_operator(function: Function, principal: Principal) -> None:
    """An operator viewing as a person may look and do everyday work, never what needs
    the person's own confirmation (a step-up level) or changes billing."""
    impersonated = isinstance(principal, Actor | Person) and principal.auth.operator_id
    if impersonated and (function.step_up or not function.impersonable):
        raise errors.forbidden(IMPERSONATION_REFUSED)


def admit(function: Function, principal: Principal) -> None:
    """May `principal` call `function` at all (an operator's limits, the catalogue)? A
    mutation refused here is recorded too (`function_refused`), as if it had begun."""
    if function.kind is not Kind.MUTATION:
        refuse_operator(function, principal)
        authorize(function, principal)
        return
    audit.start()
    with _refusals_sent(function, principal):
        refuse_operator(function, principal)
        authorize(function, principal)


def validate(function: Function, raw: Mapping[str, Any] | BaseModel | None) -> Input:
    """The function's input, validated by its one model: `invalid_input` with per-field
    messages otherwise."""
    if isinstance(raw, function.input):
        return raw
    data = raw.model_dump(exclude_unset=True) if isinstance(raw, BaseModel) else raw or {}
    if not isinstance(data, Mapping):
        raise errors.invalid_input(fields={"__all__": ["Send an object of named arguments."]})
    try:
        return function.input.model_validate(data)
    except ValidationError as error:
        raise errors.invalid_input(fields=field_errors(error.errors())) from None


def authorize(function: Function, principal: Principal) -> None:
    """The catalogue permission (role, key scopes, plan capability); resource policies
    that need the target are checked in the body."""
    if function.internal or function.personal:
        return
    if not isinstance(principal, Actor):
        raise errors.forbidden()
    if function.permission is None:  # kernel.E010 reports it; never a silent allow
        raise errors.forbidden()
    check_grant(principal, get_permission(function.permission))


def evaluate(function: Function, actor: Actor | Person, args: Input) -> Any:
    """A query's value for an actor (or, personal queries, a person) already resolved
    (the live hub's re-runs)."""
    authorize(function, actor)
    return function.convert(function.invoke(actor, args))


def _mutate(function: Function, principal: Principal, args: Input, key: str | None) -> Outcome:
    current = actors.refresh(principal) if isinstance(principal, Actor) else principal
    authorize(function, current)
    print_ = ""
    if key is not None:
        print_ = idempotency.fingerprint(function, json.loads(args.model_dump_json()))
        stored = idempotency.find(current, function, key, print_)
        if stored is not None:
            return Outcome(function.load_json(stored), replayed=True)
    if function.step_up:
        require_step_up(current, function.step_up, consume=True)
    with audit.recording(function.audit) as entry:
        value = function.convert(function.invoke(current, args))
    audit.write(current, entry)
    if key is not None:
        idempotency.store(current, function, key, print_, function.dump_json(value))
    return Outcome(value)

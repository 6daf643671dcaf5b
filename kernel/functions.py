"""The function registry: every query, mutation and action a transport may call.

    @query("widgets.list", permission="widgets.read", output=list[WidgetOut],
           live=True, varies_by="permissions")
    def widget_list(*, actor: Actor, args: WidgetFilters) -> QuerySet[Widget]: ...

    @mutation("widgets.create", permission="widgets.create", output=WidgetOut)
    def widget_create(*, actor: Actor, args: WidgetCreate) -> Widget: ...

The decorator returns the registered `Function`, which is not callable itself: run it
with `kernel.door.call(function, source, input)`, so nothing reaches a body without the
door's validation, permission, step-up and idempotency. The input model is the type of
the body's `args` parameter (none: `NoInput`).

    permission="…"   a catalogue permission: the caller acts in an organization (Actor)
    personal=True    a signed-in person acting for themselves (Person), never an API key
    internal=True    callable from Python only: never routed to the API or the socket

Registered names must be unique; the registry is frozen once the apps are ready.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, Literal, get_type_hints

from django.dispatch import Signal
from pydantic import TypeAdapter

from kernel.inputs import Input, NoInput
from kernel.mutations import DEFAULT_ATTEMPTS
from kernel.registry import Registry

VariesBy = Literal["actor", "permissions"]


class Kind(StrEnum):
    QUERY = "query"
    MUTATION = "mutation"
    ACTION = "action"


@dataclass(frozen=True, eq=False)
class Function:
    name: str
    kind: Kind
    body: Callable[..., Any]
    input: type[Input]
    output_type: Any
    """What callers receive (a pydantic model, `list[Model]`, ...); None for nothing."""
    permission: str | None = None
    personal: bool = False
    internal: bool = False
    step_up: str | None = None
    """A sensitive action (kernel/sensitive.py): its level is enforced by the door."""
    live: bool = False
    """A query clients may subscribe to over the socket. What it reads is recorded from
    the SQL each run executes (kernel/live/reads.py), never declared."""
    varies_by: VariesBy = "actor"
    """Live queries: "permissions" if the value depends only on the organization and what
    the actor may see, so subscribers with equal access share one re-run."""
    attempts: int = DEFAULT_ATTEMPTS
    """Mutations: how many times a serialization failure is retried."""
    audit: str | None = None
    """Mutations: the audit action each call is recorded as (kernel/audit.py): the door
    writes one row per success in its transaction, and one per refusal after the
    rollback (`function_refused`)."""
    unaudited: str | None = None
    """Mutations that write no audit row say why (they change no organization's data:
    the account's own, a provider's bookkeeping); kernel.E014 wants one or the other."""
    impersonable: bool = True
    """False: an operator viewing as the person may not call it (billing changes). Any
    function with a step-up level is refused to them too."""
    counts: str | None = None
    """Mutations: the plan limit a call uses up (`require_within_limit` in the body). In
    an organization whose plan bounds it, such calls run one at a time, each in a
    transaction that starts after the previous one committed: the count is exact and
    concurrent creators never collide (kernel/limits.py `one_at_a_time`)."""
    output: TypeAdapter[Any] | None = field(init=False, repr=False)
    takes_args: bool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        adapter = None if self.output_type is None else TypeAdapter(self.output_type)
        object.__setattr__(self, "output", adapter)
        object.__setattr__(self, "takes_args", "args" in inspect.signature(self.body).parameters)

    def invoke(self, actor: Any, args: Input) -> Any:
        """Run the body (the door's last step: everything has been checked)."""
        if self.takes_args:
            return self.body(actor=actor, args=args)
        return self.body(actor=actor)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"{self.name} is a registered {self.kind}: run it through the door, "
            f"kernel.door.call({self.body.__name__}, actor, input)."
        )

    @property
    def public(self) -> bool:
        return not self.internal

    def convert(self, result: Any) -> Any:
        """The body's result as the declared output (model instances read by attribute)."""
        if self.output is None:
            return None
        return self.output.validate_python(result, from_attributes=True)

    def dump_json(self, value: Any) -> bytes:
        return b"null" if self.output is None else self.output.dump_json(value)

    def load_json(self, data: bytes) -> Any:
        return None if self.output is None else self.output.validate_json(data)

    def __repr__(self) -> str:
        return f"<{self.kind} {self.name}>"


FUNCTIONS: Final = Registry[Function]("function")

function_refused = Signal()
"""Sent after a mutation was refused (an AppError) and its transaction rolled back:
`function`, `principal`, `error`. Receivers record the refusal where it survives."""


def _input_model(body: Callable[..., Any]) -> type[Input]:
    if "args" not in inspect.signature(body).parameters:
        return NoInput
    model = get_type_hints(body).get("args")
    if not (isinstance(model, type) and issubclass(model, Input)):
        raise TypeError(f"{body.__qualname__}: annotate `args` with a kernel.inputs.Input model")
    return model


def _register(
    kind: Kind, name: str, options: dict[str, Any]
) -> Callable[[Callable[..., Any]], Function]:
    def register(body: Callable[..., Any]) -> Function:
        function = Function(name, kind, body, _input_model(body), **options)
        FUNCTIONS.add(name, function)
        return function

    return register


def query(
    name: str,
    *,
    output: Any = None,
    permission: str | None = None,
    personal: bool = False,
    internal: bool = False,
    live: bool = False,
    varies_by: VariesBy = "actor",
) -> Callable[[Callable[..., Any]], Function]:
    """Register a read; `live=True` lets clients subscribe to it."""
    return _register(
        Kind.QUERY,
        name,
        {
            "output_type": output,
            "permission": permission,
            "personal": personal,
            "internal": internal,
            "live": live,
            "varies_by": varies_by,
        },
    )


def mutation(
    name: str,
    *,
    output: Any = None,
    permission: str | None = None,
    personal: bool = False,
    internal: bool = False,
    step_up: str | None = None,
    attempts: int = DEFAULT_ATTEMPTS,
    audit: str | None = None,
    unaudited: str | None = None,
    counts: str | None = None,
    impersonable: bool = True,
) -> Callable[[Callable[..., Any]], Function]:
    """Register a write: one SERIALIZABLE transaction, retried on conflicts. It declares
    its audit action (`audit=`, kernel/audit.py), or why it has none (`unaudited=`)."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    return _register(
        Kind.MUTATION,
        name,
        {
            "output_type": output,
            "permission": permission,
            "personal": personal,
            "internal": internal,
            "step_up": step_up,
            "attempts": attempts,
            "audit": audit,
            "unaudited": unaudited,
            "counts": counts,
            "impersonable": impersonable,
        },
    )


def action(
    name: str,
    *,
    output: Any = None,
    permission: str | None = None,
    personal: bool = False,
    internal: bool = False,
    step_up: str | None = None,
    impersonable: bool = True,
) -> Callable[[Callable[..., Any]], Function]:
    """Register a side effect outside the database: never inside a transaction."""
    return _register(
        Kind.ACTION,
        name,
        {
            "output_type": output,
            "permission": permission,
            "personal": personal,
            "internal": internal,
            "step_up": step_up,
            "impersonable": impersonable,
        },
    )


def public_function(name: object, *kinds: Kind) -> Function | None:
    """The public function a client names (of one of `kinds`), or None: internal and
    unknown names look alike."""
    function = FUNCTIONS.get(name) if isinstance(name, str) else None
    if function is None or function.internal or (kinds and function.kind not in kinds):
        return None
    return function

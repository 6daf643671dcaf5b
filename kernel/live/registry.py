"""Functions the socket may call, by name. Anything not registered here is not callable
from a client (internal functions stay internal)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from kernel.actor import Actor

QueryFunction = Callable[..., Any]
VariesBy = Literal["actor", "permissions"]


@dataclass(frozen=True)
class LiveQuery:
    name: str
    function: QueryFunction
    reads: frozenset[str]
    """Database tables whose committed changes make subscribers re-run it."""
    varies_by: VariesBy = "actor"
    """What its value depends on besides arguments and organization. "permissions": the
    same for every actor with equal effective permissions, so their subscribers share one
    re-run. "actor" (the safe default): it may read the user or key itself."""


QUERIES: dict[str, LiveQuery] = {}


def live_query(
    name: str, *, reads: tuple[str, ...], varies_by: VariesBy = "actor"
) -> Callable[[QueryFunction], QueryFunction]:
    """Register `function(actor=..., **args) -> JSON value` as a subscribable query."""

    def register(function: QueryFunction) -> QueryFunction:
        if name in QUERIES:
            raise ValueError(f"Live query {name!r} is registered twice")
        QUERIES[name] = LiveQuery(name, function, frozenset(reads), varies_by)
        return function

    return register


@dataclass(frozen=True)
class SocketMutation:
    name: str
    function: QueryFunction


MUTATIONS: dict[str, SocketMutation] = {}


def socket_mutation(name: str) -> Callable[[QueryFunction], QueryFunction]:
    """Register `function(actor=..., **args) -> JSON value` as callable over the socket."""

    def register(function: QueryFunction) -> QueryFunction:
        if name in MUTATIONS:
            raise ValueError(f"Socket mutation {name!r} is registered twice")
        MUTATIONS[name] = SocketMutation(name, function)
        return function

    return register


def run(query: LiveQuery, actor: Actor, args: dict[str, Any]) -> Any:
    return query.function(actor=actor, **args)

"""Functions the socket may call, by name. Anything not registered here is not callable
from a client (internal functions stay internal)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kernel.actor import Actor

QueryFunction = Callable[..., Any]


@dataclass(frozen=True)
class LiveQuery:
    name: str
    function: QueryFunction
    reads: frozenset[str]
    """Database tables whose committed changes make subscribers re-run it."""


QUERIES: dict[str, LiveQuery] = {}


def live_query(name: str, *, reads: tuple[str, ...]) -> Callable[[QueryFunction], QueryFunction]:
    """Register `function(actor=..., **args) -> JSON value` as a subscribable query."""

    def register(function: QueryFunction) -> QueryFunction:
        if name in QUERIES:
            raise ValueError(f"Live query {name!r} is registered twice")
        QUERIES[name] = LiveQuery(name, function, frozenset(reads))
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

"""require_app_permission: resolve who is calling and check one catalogue permission.

Usable from views (pass the request), Ninja endpoints (the request), Channels consumers
(the scope) and the function layer (an Actor). Raises AppError (`unauthenticated`,
`forbidden`, `plan_limit`, or a policy's error); returns the Actor on success.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, ParamSpec, TypeVar, cast

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest
from django.utils.module_loading import import_string

from kernel import errors
from kernel.actor import Actor
from kernel.permissions import Permission, get_permission

ActorSource = Actor | HttpRequest | Mapping[str, Any]
"""An Actor, a Django request, or a Channels connection scope."""

P = ParamSpec("P")
R = TypeVar("R")


class _NoTarget:
    def __repr__(self) -> str:
        return "NO_TARGET"


NO_TARGET: Final = _NoTarget()


@functools.cache
def _actor_resolver() -> Callable[[HttpRequest | Mapping[str, Any]], Actor]:
    resolver: Callable[[HttpRequest | Mapping[str, Any]], Actor]
    resolver = import_string(settings.KERNEL_ACTOR_RESOLVER)
    return resolver


@functools.cache
def _actors_rechecker() -> Callable[[Sequence[Mapping[str, Any]]], list[Actor | errors.AppError]]:
    rechecker: Callable[[Sequence[Mapping[str, Any]]], list[Actor | errors.AppError]]
    rechecker = import_string(settings.KERNEL_ACTORS_RECHECKER)
    return rechecker


def recheck_actors(scopes: Sequence[Mapping[str, Any]]) -> list[Actor | errors.AppError]:
    """Resolve many connection scopes again at once (settings.KERNEL_ACTORS_RECHECKER),
    each to its Actor or the error it would raise now; for the live hub's re-checks."""
    return _actors_rechecker()(scopes)


def resolve_actor(source: ActorSource) -> Actor:
    """The Actor behind a request or socket scope (settings.KERNEL_ACTOR_RESOLVER)."""
    if isinstance(source, Actor):
        return source
    return _actor_resolver()(source)


def _check_grant(actor: Actor, permission: Permission) -> None:
    """The actor's key limit, role and plan capability."""
    if actor.permission_limit is not None and permission.name not in actor.permission_limit:
        raise errors.forbidden("This API key does not have the permission to do this.")
    if actor.role not in permission.roles:
        raise errors.forbidden()
    if permission.capability and permission.capability not in actor.capabilities:
        raise errors.plan_limit(
            "Your organization's plan does not include this. Upgrade the plan to use it."
        )


def check_permission(actor: Actor, permission: Permission, target: object = NO_TARGET) -> None:
    """Role, then capability, then policies. Raises the first failure."""
    _check_grant(actor, permission)
    if permission.policies and target is NO_TARGET:
        raise TypeError(
            f"{permission.name} has resource policies: pass the target it acts on "
            "(require_app_permission(..., target=obj))."
        )
    for policy in permission.policies:
        policy(actor, target)


def require_app_permission(
    source: ActorSource, permission: str, *, target: object = NO_TARGET
) -> Actor:
    """Resolve the actor from `source` and check `permission`; return the actor."""
    entry = get_permission(permission)  # unknown → UnknownPermissionError, before any lookup
    actor = resolve_actor(source)
    check_permission(actor, entry, target)
    return actor


def has_app_permission(actor: Actor, permission: str) -> bool:
    """Role and capability only: for showing or hiding controls, never for enforcement.

    Policies need the target and are checked when the action runs.
    """
    entry = get_permission(permission)
    try:
        _check_grant(actor, entry)
    except errors.AppError:
        return False
    return True


def _source_of(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> ActorSource:
    for key in ("actor", "request", "scope"):
        if key in kwargs:
            return cast(ActorSource, kwargs[key])
    if args:
        return cast(ActorSource, args[0])
    raise TypeError("app_permission_required needs the actor, request or scope as first argument")


def app_permission_required(permission: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator form: checks `permission` against the function's first argument.

    The name is checked when the module is imported. Permissions with resource policies
    need their target: call require_app_permission(..., target=...) inside instead.
    """
    entry = get_permission(permission)
    if entry.policies:
        raise TypeError(
            f"{permission} has resource policies; check it inside the function with its target."
        )

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def async_guarded(*args: P.args, **kwargs: P.kwargs) -> Any:
                source = _source_of(args, kwargs)
                await sync_to_async(require_app_permission)(source, permission)
                return await function(*args, **kwargs)

            return cast(Callable[P, R], async_guarded)

        @functools.wraps(function)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            require_app_permission(_source_of(args, kwargs), permission)
            return function(*args, **kwargs)

        return guarded

    return decorate

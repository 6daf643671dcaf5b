"""Resolve the Actor behind a request or a Channels scope (settings.KERNEL_ACTOR_RESOLVER)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.http import HttpRequest

from billing.entitlements import organization_capabilities
from kernel import errors
from kernel.actor import Actor, AuthMethod
from kernel.errors import AppError
from kernel.permissions import Role
from organizations.models import Membership

ACTIVE_ORGANIZATION_SESSION_KEY = "active_organization_id"
_CACHE_ATTRIBUTE = "_kernel_actor"


def resolve_actor(source: HttpRequest | Mapping[str, Any]) -> Actor:
    """An API key (`Authorization: Bearer sk_…`) acting in its organization, else the
    signed-in user acting in their active organization. Cached per request."""
    if isinstance(source, HttpRequest):
        cached: Actor | None = getattr(source, _CACHE_ATTRIBUTE, None)
        if cached is None:
            bearer = bearer_token(source.headers.get("Authorization", ""))
            if bearer is not None:
                from organizations.api_keys import actor_for_api_key

                cached = actor_for_api_key(bearer)
            else:
                cached = _actor_for_session(getattr(source, "user", None), source.session)
            setattr(source, _CACHE_ATTRIBUTE, cached)
        return cached
    if token := _scope_token(source):  # a Channels scope
        from organizations.api_keys import actor_for_api_key

        return actor_for_api_key(token)
    return _actor_for_session(source.get("user"), source.get("session"))


def bearer_token(authorization: str) -> str | None:
    scheme, _, token = authorization.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def actor_for_membership(
    membership: Membership, capabilities: frozenset[str] | None = None
) -> Actor:
    """`capabilities`: the organization's, when the caller already has them."""
    return Actor(
        user_id=membership.user_id,
        organization_id=membership.organization_id,
        role=Role(membership.role),
        capabilities=organization_capabilities(membership.organization_id)
        if capabilities is None
        else capabilities,
        auth_method=AuthMethod.SESSION,
    )


def actor_in_organization(user: Any, organization_id: int) -> Actor:
    """The user acting in a given organization; `not_found` unless they are a member."""
    if user is None or not user.is_authenticated:
        raise errors.unauthenticated()
    membership = (
        Membership.objects.for_organization(organization_id).filter(user_id=user.pk).first()
    )
    if membership is None:
        raise errors.not_found("There is no such organization.")
    return actor_for_membership(membership)


def _actor_for_session(user: Any, session: Any) -> Actor:
    if user is None or not user.is_authenticated or not user.is_active:
        raise errors.unauthenticated()
    preferred = session.get(ACTIVE_ORGANIZATION_SESSION_KEY) if session is not None else None
    membership = active_membership(user.pk, preferred)
    if membership is None:
        raise errors.forbidden("You are not a member of any organization yet.")
    return actor_for_membership(membership)


def active_membership(user_id: int, preferred_organization_id: Any) -> Membership | None:
    """The membership in the preferred organization, else the user's oldest one.

    Re-validated on every call, so a removed member loses access at once.
    """
    if isinstance(preferred_organization_id, int):
        membership = (
            Membership.objects.for_organization(preferred_organization_id)
            .filter(user_id=user_id)
            .first()
        )
        if membership is not None:
            return membership
    # A user's own memberships across organizations: internal, keyed by the user.
    return (
        Membership.objects.unscoped().filter(user_id=user_id).order_by("created_at", "pk").first()
    )


def recheck_actors(scopes: Sequence[Mapping[str, Any]]) -> list[Actor | AppError]:
    """Resolve many socket scopes again at once (settings.KERNEL_ACTORS_RECHECKER): the
    live hub re-checks every subscriber before a re-run. One query per kind of
    credential and one per organization for capabilities, whatever the number of scopes;
    a re-check is not an API call, so it neither counts against a key's rate limit nor
    touches `last_used_at`."""
    from organizations.api_keys import actor_of_key, valid_keys

    tokens = [_scope_token(scope) for scope in scopes]
    keys = valid_keys(token for token in tokens if token)
    users = {
        scope["user"].pk
        for scope, token in zip(scopes, tokens, strict=True)
        if not token and getattr(scope.get("user"), "is_authenticated", False)
    }
    memberships: dict[int, list[Membership]] = {}
    for membership in (
        Membership.objects.unscoped()  # the users' own memberships, across organizations
        .filter(user_id__in=users, user__is_active=True)  # deactivated since they connected
        .order_by("created_at", "pk")
        if users
        else ()  # API keys only: even building an empty query costs
    ):
        memberships.setdefault(membership.user_id, []).append(membership)
    capabilities: dict[int, frozenset[str]] = {}

    def capabilities_of(organization_id: int) -> frozenset[str]:
        if organization_id not in capabilities:
            capabilities[organization_id] = organization_capabilities(organization_id)
        return capabilities[organization_id]

    actors: list[Actor | AppError] = []
    for scope, token in zip(scopes, tokens, strict=True):
        if token:
            key = keys.get(token)
            actors.append(
                actor_of_key(key, capabilities_of(key["organization_id"]))
                if key
                else errors.unauthenticated("This API key is not valid.")
            )
            continue
        user = scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            actors.append(errors.unauthenticated())
            continue
        session = scope.get("session")
        preferred = session.get(ACTIVE_ORGANIZATION_SESSION_KEY) if session is not None else None
        mine = memberships.get(user.pk, [])
        chosen = next(
            (m for m in mine if m.organization_id == preferred), mine[0] if mine else None
        )
        actors.append(
            actor_for_membership(chosen, capabilities_of(chosen.organization_id))
            if chosen
            else errors.forbidden("You are not a member of any organization yet.")
        )
    return actors


def _scope_token(scope: Mapping[str, Any]) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization" and (token := bearer_token(value.decode("latin-1"))):
            return token
    return None

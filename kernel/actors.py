"""The one resolver: a request, a socket scope or a job → the principal acting.

    resolve(request)                       # an Actor in the active organization
    resolve(request, organization_id=7)    # an Actor in organization 7 (not_found if not a member)
    resolve_person(request)                # a signed-in Person, in no organization
    refresh(actor)                         # the same Actor re-read (inside a mutation)
    recheck(scopes)                        # many sockets at once (the live hub)

Credentials: `Authorization: Bearer <api key>` first, else the session's user. An API key
acts with its scopes ∩ its creator's *current* role; when the creator leaves, the key
stops working. The data comes from the registered sources (kernel/sources.py); limits are
derived here from the plan's capabilities (kernel/limits.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Final

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kernel import errors, principal_cache, ratelimit
from kernel.actor import (
    API_KEY,
    TASK,
    Actor,
    Authentication,
    AuthMethod,
    Person,
    Principal,
)
from kernel.admission import admit
from kernel.change_capture import organizations_table, people_table, session_row_key
from kernel.client_ip import client_ip, scope_client_ip
from kernel.errors import AppError
from kernel.limits import limits_for
from kernel.sources import Entitlement, KeyRecord, MembershipRecord, OrganizationState, sources

ACTIVE_ORGANIZATION_SESSION_KEY: Final = "active_organization_id"
IMPERSONATION_SESSION_KEY: Final = "accounts.impersonation"
"""An impersonated session's operator: {"operator_id", "operator_label", ...}
(written by accounts/impersonation.py)."""
LAST_USED_RESOLUTION: Final = timedelta(minutes=1)
_CACHE: Final = "_kernel_principals"

CREATOR_LEFT: Final = gettext_lazy(
    "This API key stopped working: the person who created it left the organization."
)
INVALID_KEY: Final = gettext_lazy("This API key is not valid.")
NO_ORGANIZATION: Final = gettext_lazy("There is no such organization.")


@dataclass(frozen=True, slots=True)
class Job:
    """A background job acting for a person in an organization."""

    organization_id: int
    user_id: int


Source = HttpRequest | Mapping[str, Any] | Job | Actor | Person
"""A request, a Channels connection scope, a job, or a principal already resolved."""


@dataclass(frozen=True, slots=True)
class _Credentials:
    bearer: str | None
    user: Any
    session: Any
    client_ip: str | None


def bearer_token(authorization: str) -> str | None:
    scheme, _, token = authorization.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _credentials(source: HttpRequest | Mapping[str, Any]) -> _Credentials:
    if isinstance(source, HttpRequest):
        return _Credentials(
            bearer_token(source.headers.get("Authorization", "")),
            getattr(source, "user", None),
            getattr(source, "session", None),
            client_ip(source),
        )
    bearer = None
    for name, value in source.get("headers", ()):
        if name == b"authorization":
            bearer = bearer_token(bytes(value).decode("latin-1"))
    return _Credentials(bearer, source.get("user"), source.get("session"), scope_client_ip(source))


def has_credentials(source: HttpRequest | Mapping[str, Any]) -> bool:
    found = _credentials(source)
    return bool(found.bearer) or bool(getattr(found.user, "is_authenticated", False))


# --- resolving ------------------------------------------------------------------------------


def resolve(source: Source, *, organization_id: int | None = None) -> Actor:
    """The Actor behind `source` (cached per request). Raises `unauthenticated`,
    `forbidden` (no organization yet) or `not_found` (not a member of `organization_id`)."""
    if isinstance(source, Actor):
        if organization_id is not None and source.organization_id != organization_id:
            raise errors.not_found(NO_ORGANIZATION)
        return source
    if isinstance(source, Person):
        return _session_actor(source.user_id, source.auth, None, organization_id)
    if isinstance(source, Job):
        return _job_actor(source)
    cache: dict[tuple[str, int | None], Principal] | None = None
    if isinstance(source, HttpRequest):
        cache = source.__dict__.setdefault(_CACHE, {})
        cached = cache.get(("actor", organization_id))
        if isinstance(cached, Actor):
            return cached
    actor = _resolve(_credentials(source), organization_id)
    if cache is not None:
        cache[("actor", organization_id)] = actor
    return actor


def resolved_actor(request: HttpRequest) -> Actor | None:
    """The Actor this request has resolved so far, if any; never resolves one (its log
    lines and error reports name the caller without a query of their own)."""
    cache = request.__dict__.get(_CACHE) or {}
    return next((found for found in cache.values() if isinstance(found, Actor)), None)


def resolve_person(source: Source) -> Person:
    """A signed-in person acting for themselves. API keys act only within their
    organization, so they are refused here."""
    if isinstance(source, Person):
        return source
    if isinstance(source, Actor):
        if source.user_id is None or source.auth.method == AuthMethod.API_KEY:
            raise errors.forbidden(_PERSON_ONLY)
        return Person(source.user_id, source.auth)
    if isinstance(source, Job):
        return Person(source.user_id, TASK)
    found = _credentials(source)
    if found.bearer:
        raise errors.forbidden(_PERSON_ONLY)
    user = found.user
    if user is None or not user.is_authenticated or not user.is_active:
        raise errors.unauthenticated()
    return Person(user.pk, session_authentication(found.session, user, found.client_ip))


_PERSON_ONLY: Final = gettext_lazy(
    "API keys act within their organization: this needs a signed-in person."
)


def _resolve(found: _Credentials, organization_id: int | None) -> Actor:
    if found.bearer:
        key = _valid_key(found.bearer)
        if organization_id is not None and key.organization_id != organization_id:
            raise errors.not_found(NO_ORGANIZATION)
        return _key_actor(
            key, _entitlement(key.organization_id), _state(key.organization_id), found.client_ip
        )
    user = found.user
    if user is None or not user.is_authenticated or not user.is_active:
        raise errors.unauthenticated()
    preferred = found.session.get(ACTIVE_ORGANIZATION_SESSION_KEY) if found.session else None
    auth = session_authentication(found.session, user, found.client_ip)
    return _session_actor(user.pk, auth, preferred, organization_id)


def _valid_key(raw_key: str) -> KeyRecord:
    """A presented key: valid, within its rate limit, its use recorded."""
    key = principal_cache.read(
        ("key", hashlib.sha256(raw_key.encode()).digest()),
        lambda: sources().require_directory().api_keys([raw_key]).get(raw_key),
        lambda key, read: principal_cache.scoped(
            read,
            key.organization_id,
            {
                people_table(): _row(key.creator_id),
                organizations_table(): _row(key.organization_id),
            },
        ),
        until=lambda key: key.expires_at,
    )
    if key is None:
        raise errors.unauthenticated(INVALID_KEY)
    if key.creator_role is None:
        raise errors.unauthenticated(CREATOR_LEFT)
    ratelimit.enforce(
        f"api-key:{key.key_id}",
        limit=settings.API_KEY_RATE_LIMIT_PER_MINUTE,
        window_seconds=60,
        message=_("Too many requests for this API key. Slow down."),
    )
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        sources().require_directory().api_key_used(key.key_id)
    return key


def _membership(user_id: int, organization_id: int) -> MembershipRecord | None:
    return principal_cache.read(
        ("member", user_id, organization_id),
        lambda: sources().require_directory().membership(user_id, organization_id),
        lambda found, read: principal_cache.scoped(
            read,
            organization_id,
            {people_table(): _row(user_id), organizations_table(): _row(organization_id)},
        ),
    )


def _session_actor(
    user_id: int, auth: Authentication, preferred: Any, organization_id: int | None
) -> Actor:
    if organization_id is not None:
        membership = _membership(user_id, organization_id)
        if membership is None:
            raise errors.not_found(NO_ORGANIZATION)
    else:
        membership = _active_membership(user_id, preferred)
    organization = membership.organization_id
    return _member_actor(membership, auth, _entitlement(organization), _state(organization))


def _active_membership(user_id: int, preferred: Any) -> MembershipRecord:
    """The membership in the preferred organization, else the one the user used last
    (after signing in, a session has none), else their oldest one. Re-validated on
    every call, so a removed member loses access at once."""
    if isinstance(preferred, int) and not isinstance(preferred, bool):
        membership = _membership(user_id, preferred)
        if membership is not None:
            return membership
    mine = sources().require_directory().memberships([user_id]).get(user_id, ())
    if not mine:
        raise errors.forbidden(_("You are not a member of any organization yet."))
    return mine[0]


def _job_actor(job: Job) -> Actor:
    membership = sources().require_directory().membership(job.user_id, job.organization_id)
    if membership is None:
        raise errors.forbidden(_("You are no longer a member of this organization."))
    return _member_actor(
        membership, TASK, _entitlement(job.organization_id), _state(job.organization_id)
    )


def session_authentication(session: Any, user: Any, client_ip: str | None = None) -> Authentication:
    """The session's authentication context, for step-up and the audit log."""
    key = getattr(session, "session_key", None)
    step_up = sources().step_up
    signed_in, reauthenticated = (
        step_up.sign_in_times(session, user) if step_up and session is not None else (None, None)
    )
    # An operator viewing as this person (accounts/impersonation.py keeps them here).
    operator = session.get(IMPERSONATION_SESSION_KEY) if session is not None else None
    operator = operator if isinstance(operator, dict) else {}
    return Authentication(
        AuthMethod.SESSION,
        session_key_hash=session_row_key(key) if key else None,
        signed_in_at=signed_in,
        reauthenticated_at=reauthenticated,
        client_ip=client_ip,
        operator_id=operator.get("operator_id"),
        operator_label=operator.get("operator_label", ""),
    )


# --- building actors ------------------------------------------------------------------------


def _entitlement(organization_id: int) -> Entitlement:
    def load() -> Entitlement:
        return sources().entitlement_source().entitlements([organization_id])[organization_id]

    found = principal_cache.read(
        ("plan", organization_id),
        load,
        lambda _, read: principal_cache.scoped(
            read, organization_id, {organizations_table(): _row(organization_id)}
        ),
        until=lambda plan: plan.valid_until,
    )
    return found if found is not None else load()


def _state(organization_id: int) -> OrganizationState:
    """The organization's status and policies (kernel/admission.py enforces them)."""

    def load() -> OrganizationState:
        found = sources().require_directory().organizations([organization_id])
        if organization_id not in found:
            raise errors.not_found(NO_ORGANIZATION)
        return found[organization_id]

    state = principal_cache.read(
        ("organization", organization_id),
        load,
        lambda _, read: principal_cache.scoped(
            read, organization_id, {organizations_table(): _row(organization_id)}
        ),
    )
    return state if state is not None else load()


def _row(pk: int | None) -> str | None:
    return None if pk is None else str(pk)


def _member_actor(
    membership: MembershipRecord,
    auth: Authentication,
    entitlement: Entitlement,
    state: OrganizationState,
) -> Actor:
    actor = Actor(
        user_id=membership.user_id,
        organization_id=membership.organization_id,
        role=membership.role,
        capabilities=entitlement.capabilities,
        limits=limits_for(entitlement.capabilities, unlimited=entitlement.unlimited),
        plan=entitlement.plan,
        auth=auth,
    )
    return admit(actor, state)


def _key_actor(
    key: KeyRecord,
    entitlement: Entitlement,
    state: OrganizationState,
    client_ip: str | None = None,
) -> Actor:
    assert key.creator_role is not None  # a key whose creator left is refused before
    actor = Actor(
        user_id=None,
        organization_id=key.organization_id,
        role=key.creator_role,
        capabilities=entitlement.capabilities,
        limits=limits_for(entitlement.capabilities, unlimited=entitlement.unlimited),
        plan=entitlement.plan,
        auth=Authentication(AuthMethod.API_KEY, client_ip=client_ip) if client_ip else API_KEY,
        scopes=key.scopes,
        api_key_id=key.key_id,
        key_creator_id=key.creator_id,
    )
    return admit(actor, state)


def actor_for(membership: MembershipRecord, auth: Authentication | None = None) -> Actor:
    """The Actor of a membership (tests, internal code acting for a member)."""
    from kernel.actor import SESSION

    organization = membership.organization_id
    return _member_actor(
        membership, auth or SESSION, _entitlement(organization), _state(organization)
    )


# --- re-reading -----------------------------------------------------------------------------


def refresh(actor: Actor) -> Actor:
    """The actor as the database says now: current role, current key. Mutations call it
    inside their transaction, so a role changed since the request began (or a key
    revoked, a member removed) is what counts. The plan is the one read when the request
    began: grants are read once per request, and a plan changes by webhook, not between
    two statements of one request."""
    directory = sources().require_directory()
    if actor.api_key_id is not None:
        key = directory.api_keys_by_id([actor.api_key_id]).get(actor.api_key_id)
        if key is None:
            raise errors.unauthenticated(INVALID_KEY)
        if key.creator_role is None:
            raise errors.unauthenticated(CREATOR_LEFT)
        current = replace(
            actor, role=key.creator_role, scopes=key.scopes, key_creator_id=key.creator_id
        )
    else:
        if actor.user_id is None:
            raise errors.unauthenticated()
        membership = directory.membership(actor.user_id, actor.organization_id)
        if membership is None:
            raise errors.forbidden(_("You are no longer a member of this organization."))
        current = replace(actor, role=membership.role)
    state = directory.organizations([actor.organization_id]).get(actor.organization_id)
    if state is None:
        raise errors.not_found(NO_ORGANIZATION)
    return admit(current, state)


def recheck(scopes: Sequence[Mapping[str, Any]]) -> list[Actor | AppError]:
    """Resolve many socket scopes again at once, each to its Actor or the error it would
    raise now: one query per kind of credential and one for the plans, whatever their
    number. A re-check is not an API call: it neither counts against a key's rate limit
    nor touches its `last_used_at`."""
    directory = sources().require_directory()
    found = [_credentials(scope) for scope in scopes]
    keys = directory.api_keys([c.bearer for c in found if c.bearer])
    users = {
        c.user.pk for c in found if not c.bearer and getattr(c.user, "is_authenticated", False)
    }
    memberships = directory.memberships(users) if users else {}
    chosen: list[KeyRecord | MembershipRecord | AppError] = []
    for credentials in found:
        if credentials.bearer:
            key = keys.get(credentials.bearer)
            chosen.append(
                errors.unauthenticated(INVALID_KEY)
                if key is None
                else errors.unauthenticated(CREATOR_LEFT)
                if key.creator_role is None
                else key
            )
            continue
        user = credentials.user
        if user is None or not user.is_authenticated or not user.is_active:
            chosen.append(errors.unauthenticated())
            continue
        preferred = (
            credentials.session.get(ACTIVE_ORGANIZATION_SESSION_KEY)
            if credentials.session is not None
            else None
        )
        mine = memberships.get(user.pk, ())
        membership = next(
            (m for m in mine if m.organization_id == preferred), mine[0] if mine else None
        )
        chosen.append(
            membership
            if membership is not None
            else errors.forbidden(_("You are not a member of any organization yet."))
        )
    organizations = {c.organization_id for c in chosen if not isinstance(c, AppError)}
    plans = sources().entitlement_source().entitlements(organizations) if organizations else {}
    states = directory.organizations(organizations) if organizations else {}
    actors: list[Actor | AppError] = []
    for credentials, choice in zip(found, chosen, strict=True):
        if isinstance(choice, AppError):
            actors.append(choice)
            continue
        organization = choice.organization_id
        state = states.get(organization)
        try:
            if state is None:
                raise errors.not_found(NO_ORGANIZATION)
            if isinstance(choice, KeyRecord):
                actor = _key_actor(choice, plans[organization], state, credentials.client_ip)
            else:
                auth = session_authentication(
                    credentials.session, credentials.user, credentials.client_ip
                )
                actor = _member_actor(choice, auth, plans[organization], state)
        except AppError as error:
            actors.append(error)
            continue
        actors.append(actor)
    return actors


def set_active_organization(request: HttpRequest, organization_id: int | None) -> None:
    """Remember which organization the session acts in, and for the person, so their next
    session starts there too (None: back to the one used last, else the oldest)."""
    if organization_id is None:
        request.session.pop(ACTIVE_ORGANIZATION_SESSION_KEY, None)
    else:
        request.session[ACTIVE_ORGANIZATION_SESSION_KEY] = organization_id
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            sources().require_directory().organization_used(user.pk, organization_id)
    request.__dict__.pop(_CACHE, None)

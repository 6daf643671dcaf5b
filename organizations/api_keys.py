"""Organization API keys: create (shown once), list, revoke, and authenticate by them.

A key is `sk_<prefix>_<secret>`. The prefix is stored to find the key and to show it;
only the SHA-256 hash of the whole key is kept. A key acts within its organization with
at most the permissions its creator held, and never passes a step-up.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from accounts.stepup import require_step_up
from billing.entitlements import organization_capabilities
from kernel import errors, ratelimit
from kernel.actor import Actor, AuthMethod
from kernel.guard import require_app_permission, resolve_actor
from kernel.mutations import mutation
from kernel.permissions import CATALOGUE, Role, role_permissions
from organizations.audit import AuditAction, audit
from organizations.models import ApiKey

KEY_PREFIX = "sk_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


@mutation
def api_key_create(
    *,
    actor: Actor,
    request: HttpRequest,
    name: str,
    permissions: list[str],
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Permission: api_keys.manage; step-up level 2. Returns the key and its secret (the
    only time it is available). Permissions: a non-empty subset of the creator's."""
    require_app_permission(actor, "api_keys.manage")
    if actor.auth_method == AuthMethod.API_KEY:
        raise errors.forbidden("API keys cannot create API keys.")
    require_step_up(request, "api_keys.create", organization_id=actor.organization_id)
    clean_name = name.replace("\x00", "").strip()
    problems: dict[str, list[str]] = {}
    if not 1 <= len(clean_name) <= 64:
        problems["name"] = ["Use 1 to 64 characters."]
    unknown = sorted(set(permissions) - set(CATALOGUE))
    if unknown:
        problems["permissions"] = [f"Unknown permissions: {', '.join(unknown)}."]
    elif not permissions:
        problems["permissions"] = ["Choose at least one permission."]
    if expires_at is not None and expires_at <= timezone.now():
        problems["expires_at"] = ["Choose a moment in the future."]
    if problems:
        raise errors.invalid_input(fields=problems)
    beyond = sorted(set(permissions) - set(role_permissions(actor.role)))
    if beyond:
        raise errors.forbidden(
            f"You cannot give a key permissions you do not have: {', '.join(beyond)}."
        )
    key, raw_key = api_key_issue(
        organization_id=actor.organization_id,
        name=clean_name,
        role=actor.role,
        permissions=permissions,
        created_by_id=actor.user_id,
        expires_at=expires_at,
    )
    audit(
        organization_id=actor.organization_id,
        action=AuditAction.API_KEY_CREATE,
        actor=actor,
        target=f"{key.name} ({key.prefix})",
        request=request,
        permissions=key.permissions,
    )
    return key, raw_key


def api_key_issue(
    *,
    organization_id: int,
    name: str,
    role: Role,
    permissions: list[str],
    created_by_id: int | None,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Internal (no permission check): store a new key, return it and its secret."""
    prefix = secrets.token_hex(4)
    raw_key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        organization_id=organization_id,
        name=name,
        prefix=prefix,
        key_hash=_hash(raw_key),
        role=role,
        permissions=sorted(set(permissions)),
        created_by_id=created_by_id,
        expires_at=expires_at,
    )
    return key, raw_key


@mutation
def api_key_revoke(*, actor: Actor, key_id: int) -> ApiKey:
    """Permission: api_keys.manage."""
    require_app_permission(actor, "api_keys.manage")
    try:
        key = ApiKey.objects.for_actor(actor).get(pk=key_id)
    except ApiKey.DoesNotExist:
        raise errors.not_found("There is no such API key.") from None
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit(
            organization_id=actor.organization_id,
            action=AuditAction.API_KEY_REVOKE,
            actor=actor,
            target=f"{key.name} ({key.prefix})",
        )
    return key


def api_key_list(*, actor: Actor) -> QuerySet[ApiKey]:
    """Permission: api_keys.manage. Newest first, revoked ones included."""
    require_app_permission(actor, "api_keys.manage")
    return ApiKey.objects.for_actor(actor).order_by("-created_at")


_KEY_FIELDS = (
    "pk",
    "prefix",
    "key_hash",
    "organization_id",
    "role",
    "permissions",
    "expires_at",
    "last_used_at",
)


def _prefix_of(raw_key: str) -> str | None:
    if not raw_key.startswith(KEY_PREFIX) or raw_key.count("_") < 2:
        return None
    return raw_key[len(KEY_PREFIX) :].split("_", 1)[0]


def valid_keys(raw_keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Internal: the presented keys that are valid (known, matching, not revoked, not
    expired), as plain values by raw key: one query for any number of keys."""
    by_prefix = {prefix: raw for raw in raw_keys if (prefix := _prefix_of(raw))}
    if not by_prefix:
        return {}
    now = timezone.now()
    found = {}
    # On every API call: plain values, no model instance. The prefix identifies the key.
    rows = (
        ApiKey.objects.unscoped().filter(prefix__in=by_prefix, revoked_at=None).values(*_KEY_FIELDS)
    )
    for key in rows:
        raw = by_prefix[key["prefix"]]
        if hmac.compare_digest(key["key_hash"], _hash(raw)) and (
            key["expires_at"] is None or key["expires_at"] > now
        ):
            found[raw] = key
    return found


def actor_of_key(key: Mapping[str, Any], capabilities: frozenset[str]) -> Actor:
    return Actor(
        user_id=None,
        organization_id=key["organization_id"],
        role=Role(key["role"]),
        capabilities=capabilities,
        auth_method=AuthMethod.API_KEY,
        permission_limit=frozenset(key["permissions"]),
        api_key_id=key["pk"],
    )


def actor_for_api_key(raw_key: str) -> Actor:
    """Internal: the Actor a presented key acts as. `unauthenticated` for a malformed,
    unknown, revoked or expired key (all alike); `rate_limited` past the key's limit."""
    key = valid_keys([raw_key]).get(raw_key)
    if key is None:
        raise errors.unauthenticated("This API key is not valid.")
    now = timezone.now()
    ratelimit.enforce(
        f"api-key:{key['pk']}", limit=settings.API_KEY_RATE_LIMIT_PER_MINUTE, window_seconds=60
    )
    if key["last_used_at"] is None or now - key["last_used_at"] > LAST_USED_RESOLUTION:
        ApiKey.objects.unscoped().filter(pk=key["pk"]).update(last_used_at=now)
    return actor_of_key(key, organization_capabilities(key["organization_id"]))


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer sk_…`: no session, so no CSRF."""

    def authenticate(self, request: HttpRequest, token: str) -> Actor:
        return resolve_actor(request)  # cached: the idempotency layer may have resolved it

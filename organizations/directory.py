"""The kernel's directory (kernel/sources.py): who belongs where, and which API keys are
valid — read by the one Actor resolver on every request, socket re-check and mutation.

Internal: these read across organizations by design (a user's own memberships, a key by
its secret), so they use the explicit `unscoped()` path.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Final

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from kernel.permissions import Role
from kernel.sources import KeyRecord, MembershipRecord
from organizations.models import ApiKey, Membership

KEY_PREFIX: Final = "sk_"


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def prefix_of(raw_key: str) -> str | None:
    if not raw_key.startswith(KEY_PREFIX) or raw_key.count("_") < 2:
        return None
    return raw_key[len(KEY_PREFIX) :].split("_", 1)[0]


def _valid_keys() -> QuerySet[ApiKey]:
    """Keys not revoked nor expired, each with its creator's current role there."""
    now = timezone.now()
    creator_role = Membership.objects.unscoped().filter(
        organization_id=OuterRef("organization_id"),
        user_id=OuterRef("created_by_id"),
        user__is_active=True,
    )
    return (
        ApiKey.objects.unscoped()
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now), revoked_at=None)
        .annotate(creator_role=Subquery(creator_role.values("role")[:1]))
    )


_KEY_FIELDS: Final = (
    "pk",
    "prefix",
    "key_hash",
    "organization_id",
    "permissions",
    "created_by_id",
    "creator_role",
    "last_used_at",
)


def _record(row: Mapping[str, Any]) -> KeyRecord:
    return KeyRecord(
        key_id=row["pk"],
        organization_id=row["organization_id"],
        scopes=frozenset(row["permissions"]),
        creator_id=row["created_by_id"],
        creator_role=Role(row["creator_role"]) if row["creator_role"] else None,
        last_used_at=row["last_used_at"],
    )


class MembershipDirectory:
    def memberships(self, user_ids: Collection[int]) -> Mapping[int, Sequence[MembershipRecord]]:
        found: dict[int, list[MembershipRecord]] = {}
        rows = (
            Membership.objects.unscoped()  # the users' own memberships, across organizations
            .filter(user_id__in=user_ids, user__is_active=True)
            .order_by("created_at", "pk")
            .values_list("user_id", "organization_id", "role")
        )
        for user_id, organization_id, role in rows:
            found.setdefault(user_id, []).append(
                MembershipRecord(user_id, organization_id, Role(role))
            )
        return found

    def membership(self, user_id: int, organization_id: int) -> MembershipRecord | None:
        role = (
            Membership.objects.for_organization(organization_id)
            .filter(user_id=user_id, user__is_active=True)
            .values_list("role", flat=True)
            .first()
        )
        return MembershipRecord(user_id, organization_id, Role(role)) if role else None

    def api_keys(self, raw_keys: Collection[str]) -> Mapping[str, KeyRecord]:
        by_prefix = {prefix: raw for raw in raw_keys if (prefix := prefix_of(raw))}
        if not by_prefix:
            return {}
        found = {}
        for row in _valid_keys().filter(prefix__in=by_prefix).values(*_KEY_FIELDS):
            raw = by_prefix[row["prefix"]]
            if hmac.compare_digest(row["key_hash"], hash_key(raw)):
                found[raw] = _record(row)
        return found

    def api_keys_by_id(self, key_ids: Collection[int]) -> Mapping[int, KeyRecord]:
        rows = _valid_keys().filter(pk__in=key_ids).values(*_KEY_FIELDS)
        return {row["pk"]: _record(row) for row in rows}

    def api_key_used(self, key_id: int) -> None:
        ApiKey.objects.unscoped().filter(pk=key_id).update(last_used_at=timezone.now())

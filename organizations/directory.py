"""The kernel's directory (kernel/sources.py): who belongs where, and which API keys are
valid — read by the one Actor resolver on every request, socket re-check and mutation.

Internal: these read across organizations by design (a user's own memberships, a key by
its secret), so they use the explicit `unscoped()` path.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Final, Literal

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F
from django.utils import timezone

from kernel.permissions import Role
from kernel.sources import KeyRecord, MembershipRecord, OrganizationState, OrganizationStatus
from organizations.models import ApiKey, Membership, Organization

KEY_PREFIX: Final = "sk_"


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def prefix_of(raw_key: str) -> str | None:
    if not raw_key.startswith(KEY_PREFIX) or raw_key.count("_") < 2:
        return None
    return raw_key[len(KEY_PREFIX) :].split("_", 1)[0]


def _valid_keys(
    match: Literal["prefix", "id"], values: Sequence[Any]
) -> list[tuple[str, str, KeyRecord]]:
    """Keys not revoked nor expired whose `match` column is one of `values`, each with its
    creator's current role there (after the key's prefix and hash). SQL written once: this
    runs on every API request, and building the same ORM query (a correlated subquery)
    each time cost more than running it."""
    keys, members = ApiKey._meta.db_table, Membership._meta.db_table
    users = get_user_model()._meta.db_table
    # Identifiers from the models' own metadata; every value is a parameter.
    sql = (
        "SELECT k.id, k.prefix, k.key_hash, k.organization_id, k.permissions, "  # noqa: S608
        f'k.created_by_id, (SELECT m.role FROM "{members}" m JOIN "{users}" u ON u.id = m.user_id '
        "WHERE m.organization_id = k.organization_id AND m.user_id = k.created_by_id "
        f'AND u.is_active LIMIT 1), k.last_used_at, k.expires_at FROM "{keys}" k '
        f"WHERE k.{match} = ANY(%s) "
        "AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(values), timezone.now()])
        rows = cursor.fetchall()
    return [
        (
            prefix,
            key_hash,
            KeyRecord(
                key_id=key_id,
                organization_id=organization,
                scopes=frozenset(json.loads(scopes)),  # Django reads jsonb as text
                creator_id=creator_id,
                creator_role=Role(role) if role else None,
                last_used_at=used,
                expires_at=expires,
            ),
        )
        for key_id, prefix, key_hash, organization, scopes, creator_id, role, used, expires in rows
    ]


class MembershipDirectory:
    def memberships(self, user_ids: Collection[int]) -> Mapping[int, Sequence[MembershipRecord]]:
        found: dict[int, list[MembershipRecord]] = {}
        rows = (
            Membership.objects.unscoped()  # the users' own memberships, across organizations
            .filter(user_id__in=user_ids, user__is_active=True)
            .order_by(F("last_used_at").desc(nulls_last=True), "created_at", "pk")
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

    def members(self, organization_id: int) -> Sequence[MembershipRecord]:
        rows = (
            Membership.objects.for_organization(organization_id)
            .filter(user__is_active=True)
            .order_by("created_at", "pk")
            .values_list("user_id", "role")
        )
        return [MembershipRecord(user_id, organization_id, Role(role)) for user_id, role in rows]

    def api_keys(self, raw_keys: Collection[str]) -> Mapping[str, KeyRecord]:
        by_prefix = {prefix: raw for raw in raw_keys if (prefix := prefix_of(raw))}
        if not by_prefix:
            return {}
        found = {}
        for prefix, key_hash, key in _valid_keys("prefix", list(by_prefix)):
            raw = by_prefix[prefix]
            if hmac.compare_digest(key_hash, hash_key(raw)):
                found[raw] = key
        return found

    def api_keys_by_id(self, key_ids: Collection[int]) -> Mapping[int, KeyRecord]:
        return {key.key_id: key for _, _, key in _valid_keys("id", list(key_ids))}

    def organization_used(self, user_id: int, organization_id: int) -> None:
        Membership.objects.for_organization(organization_id).filter(user_id=user_id).update(
            last_used_at=timezone.now()
        )

    def api_key_used(self, key_id: int) -> None:
        ApiKey.objects.unscoped().filter(pk=key_id).update(last_used_at=timezone.now())

    def organizations(self, organization_ids: Collection[int]) -> Mapping[int, OrganizationState]:
        rows = Organization.objects.filter(pk__in=organization_ids).values_list(
            "pk",
            "status",
            "status_reason",
            "deletion_due_at",
            "require_two_factor",
            "api_key_networks",
        )
        return {
            pk: OrganizationState(
                pk,
                OrganizationStatus(status),
                reason,
                due,
                require_two_factor=two_factor,
                api_key_networks=tuple(networks or ()),
            )
            for pk, status, reason, due, two_factor, networks in rows
        }

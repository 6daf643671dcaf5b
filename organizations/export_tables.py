"""The organizations domain's part of an organization's data export (kernel/exports.py):
the organization itself, its members, invitations, audit log and API keys' metadata.
Never a secret: no key hash, no invitation token hash."""

from __future__ import annotations

from collections.abc import Iterable

from kernel.exports import Export, ExportTable, Row
from organizations.models import ApiKey, AuditEvent, Invitation, Membership, Organization

ORGANIZATION_FIELDS = (
    "id",
    "name",
    "slug",
    "created_at",
    "status",
    "require_two_factor",
    "allowed_email_domains",
    "auto_join",
    "auto_join_role",
    "max_api_key_days",
    "api_key_networks",
)


def organization_rows(organization_id: int) -> Iterable[Row]:
    found: Iterable[Row] = Organization.objects.filter(pk=organization_id).values(
        *ORGANIZATION_FIELDS
    )
    return found


EXPORT = Export(
    tables=[
        ExportTable("organization", ORGANIZATION_FIELDS, organization_rows),
        ExportTable.of(
            Membership,
            "members",
            ["id", "user_id", "user__email", "user__display_name", "role", "created_at"],
        ),
        ExportTable.of(
            Invitation,
            "invitations",
            [
                "id",
                "email",
                "role",
                "invited_by__email",
                "created_at",
                "expires_at",
                "accepted_at",
                "declined_at",
                "revoked_at",
            ],
        ),
        ExportTable.of(
            AuditEvent,
            "audit_log",
            [
                "id",
                "created_at",
                "actor_label",
                "api_key_id",
                "operator_label",
                "action",
                "result",
                "target",
                "target_type",
                "target_id",
                "reason",
                "permission",
                "ip_address",
                "detail",
            ],
        ),
        ExportTable.of(
            ApiKey,
            "api_keys",
            [
                "id",
                "name",
                "prefix",
                "permissions",
                "created_by__email",
                "created_at",
                "expires_at",
                "last_used_at",
                "revoked_at",
            ],
        ),
    ],
)

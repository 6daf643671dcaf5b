"""What a person's account export holds: their profile, email addresses, sign-in
factors (their kinds, never secrets), memberships, sessions, account security log, and
the organization audit rows about them (as the actor, or as the target). Every table is
filtered by the person's own user id (or address), across organizations."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.db.models import Q

from accounts.models import SecurityEvent, User
from kernel.exports import Row
from organizations.models import AuditEvent, Membership

Table = tuple[str, Sequence[str], Iterable[Row]]

PROFILE = ("id", "email", "display_name", "time_zone", "language", "date_joined", "last_login")
AUDIT = (
    "id",
    "organization_id",
    "organization__name",
    "created_at",
    "actor_label",
    "operator_label",
    "action",
    "result",
    "target",
    "target_type",
    "target_id",
    "reason",
    "detail",
)
"""No ip_address: a row where someone else acted on the person holds *their* address."""


def account_tables(user: User) -> list[Table]:
    audit_rows = (
        AuditEvent.objects.unscoped()  # the person's own rows, across organizations
        .filter(Q(actor_id=user.pk) | Q(target__iexact=user.email))
        .order_by("created_at", "pk")
    )
    tables: list[tuple[str, Sequence[str], Iterable[Row]]] = [
        ("profile", PROFILE, User.objects.filter(pk=user.pk).values(*PROFILE)),
        (
            "email_addresses",
            ("email", "verified", "primary"),
            EmailAddress.objects.filter(user=user).values("email", "verified", "primary"),
        ),
        (
            "sign_in_factors",
            ("type", "created_at", "last_used_at"),
            Authenticator.objects.filter(user=user).values("type", "created_at", "last_used_at"),
        ),
        (
            "memberships",
            ("organization_id", "organization__name", "role", "created_at", "last_used_at"),
            Membership.objects.unscoped()  # the person's own, in every organization
            .filter(user=user)
            .order_by("created_at")
            .values("organization_id", "organization__name", "role", "created_at", "last_used_at"),
        ),
        (
            "sessions",
            ("created_at", "last_seen_at", "ip", "user_agent"),
            UserSession.objects.filter(user=user)
            .order_by("created_at")
            .values("created_at", "last_seen_at", "ip", "user_agent"),
        ),
        (
            "security_log",
            ("created_at", "kind", "result", "ip_address", "user_agent", "detail"),
            SecurityEvent.objects.filter(user=user)
            .order_by("created_at")
            .values("created_at", "kind", "result", "ip_address", "user_agent", "detail"),
        ),
        ("audit_log", AUDIT, audit_rows.values(*AUDIT).iterator(chunk_size=1000)),
    ]
    return tables

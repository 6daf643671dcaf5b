from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kernel.manifest import audit_label
from kernel.outcomes import Outcome
from kernel.permissions import ROLE_LABELS, Role
from kernel.tenancy import TenantModel


class Organization(models.Model):
    """The tenant. Every tenant row points here; deleting it deletes them.

    Its status and security policies are read by the Actor resolver with every
    membership and key (organizations/directory.py), so they hold for every transport."""

    class Status(models.TextChoices):
        ACTIVE = "active", gettext_lazy("Active")
        SUSPENDED = "suspended", gettext_lazy("Suspended")
        PENDING_DELETION = "pending_deletion", gettext_lazy("Scheduled for deletion")

    name = models.CharField(max_length=64)
    slug = models.SlugField(max_length=80, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.CharField(max_length=254, blank=True)
    """Why an operator suspended it (shown to its members), or who scheduled its deletion."""
    status_changed_at = models.DateTimeField(null=True, blank=True)
    deletion_due_at = models.DateTimeField(null=True, blank=True)
    """While pending deletion: when the purge task deletes it."""

    # Security policies, set by owners (organizations.policies).
    require_two_factor = models.BooleanField(default=False)
    allowed_email_domains = models.JSONField(default=list, blank=True)
    """Invitations only to these domains (lower case, no "@"); empty: any."""
    auto_join = models.BooleanField(default=False)
    """A user who verifies an address at an allowed domain joins with `auto_join_role`."""
    auto_join_role = models.CharField(
        max_length=16, choices=[(r.value, ROLE_LABELS[r]) for r in Role], default=Role.MEMBER
    )
    max_api_key_days = models.PositiveIntegerField(null=True, blank=True)
    """The longest an API key may live; None: keys may never expire."""
    api_key_networks = models.JSONField(default=list, blank=True)
    """CIDR networks API keys may be used from; empty: anywhere."""

    captured_by_row = True
    """Renames, status and policy changes reach live queries and re-check their
    subscribers (kernel/change_capture.py)."""

    def __str__(self) -> str:
        return self.name


class Membership(TenantModel):
    """A user's role in one organization."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=[(r.value, ROLE_LABELS[r]) for r in Role])
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    """When the person last chose to act here: a new session starts in the organization
    used last. An ended membership is deleted, so it can never be chosen."""

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="organizations_membership_unique"
            ),
        ]
        indexes = [models.Index(fields=["organization", "role"], name="membership_org_role")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.organization_id} as {self.role}"

    def has_other_owners(self) -> bool:
        """For the last-owner policy; run it inside a mutation so the answer holds."""
        return (
            Membership.objects.for_organization(self.organization_id)
            .filter(role=Role.OWNER)
            .exclude(pk=self.pk)
            .exists()
        )


class Invitation(TenantModel):
    """An invitation to join an organization, by email. The token is stored only hashed."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=[(r.value, ROLE_LABELS[r]) for r in Role])
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_sent_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    declined_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One pending invitation per address and organization.
            models.UniqueConstraint(
                "organization",
                Lower("email"),
                condition=models.Q(
                    accepted_at__isnull=True, declined_at__isnull=True, revoked_at__isnull=True
                ),
                name="invitation_one_pending_per_email",
            ),
        ]
        indexes = [models.Index(fields=["organization", "-created_at"], name="invitation_org")]

    def __str__(self) -> str:
        return f"{self.email} → {self.organization_id} as {self.role}"

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.declined_at is None and self.revoked_at is None

    @property
    def is_expired(self) -> bool:
        """Its link no longer works; resending renews it."""
        return self.expires_at <= timezone.now()


class AuditEvent(TenantModel):
    """Append-only record of what happened in an organization, and who did it.

    Written in the same transaction as the change it records (denied attempts after the
    rollback). `detail` is small and never holds secrets.
    """

    Result = Outcome

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=254)
    """The email; `API key “deploy” (#3)`; `Stripe`; `operator ops@example.com`."""
    api_key_id = models.PositiveBigIntegerField(null=True, blank=True)
    """The key that acted, when one did (kept after the key is deleted)."""
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    operator_label = models.CharField(max_length=254, blank=True)
    """The operator who acted while viewing as `actor` (impersonation), or in the admin."""
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=254, blank=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    """What the row is about, for filtering: ("member", "12"), ("api_key", "3")."""
    result = models.CharField(max_length=16, choices=Result.choices)
    reason = models.CharField(max_length=254, blank=True)
    """A refusal's or failure's message, as its caller saw it (the code is in `detail`)."""
    permission = models.CharField(max_length=64, blank=True)
    """A refused call's catalogue permission."""
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    target_name = ""
    """The target as people are shown (a member's name; organizations.queries fills it)."""

    class Meta:
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="audit_org_time"),
            models.Index(fields=["organization", "action"], name="audit_org_action"),
            models.Index(
                fields=["organization", "target_type", "target_id"], name="audit_org_target"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.result} by {self.actor_label}"

    @property
    def actor_name(self) -> str:
        """Who did it, as people are shown: the person's name if they still have an
        account (select_related("actor")), else the label recorded then."""
        return self.actor.name if self.actor is not None else self.actor_label

    @property
    def summary(self) -> str:
        """What happened, in words, after the actor's name ("removed bob@example.com");
        for a refusal, what was tried. The owning domain's manifest has the words."""
        label = audit_label(self.action)
        if label is None:
            return self.action  # no domain names it (any more): the code is all there is
        if self.result == Outcome.SUCCESS:
            return label.describe(self.target_name or self.target, self.detail)
        attempt = _("tried to %(attempt)s") % {
            "attempt": label.describe(self.target, self.detail, done=False)
        }
        if self.target and "{target}" not in str(label.attempt):  # found before it was refused
            attempt += f" ({self.target_name or self.target})"
        return attempt

    @property
    def why(self) -> str:
        """Why it did not happen: the message recorded then; older rows just say so."""
        if self.result == Outcome.SUCCESS:
            return ""
        return self.reason or _("Refused.")


class ApiKey(TenantModel):
    """An organization API key. Only its prefix (visible) and SHA-256 hash are stored;
    the key is shown once at creation. It stops working when its creator leaves."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=64)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    permissions = models.JSONField(default=list)
    """Its scopes; it acts with these ∩ its creator's current role."""
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "-created_at"], name="api_key_org")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


def _export_storage() -> Any:
    """The private storage of export files (settings.STORAGES["exports"]): never served."""
    from django.core.files.storage import storages

    return storages["exports"]


class DataExport(models.Model):
    """A ZIP of an organization's data (for its managers) or of one person's account data
    (for them), written by a task (organizations/exports.py) and downloaded through a
    signed link. Not a tenant table: account exports belong to no organization; an
    organization's go with it (the file too: organizations/exports.py)."""

    class Kind(models.TextChoices):
        ORGANIZATION = "organization", gettext_lazy("Organization")
        ACCOUNT = "account", gettext_lazy("Account")

    class Status(models.TextChoices):
        PENDING = "pending", gettext_lazy("Preparing")
        READY = "ready", gettext_lazy("Ready")
        FAILED = "failed", gettext_lazy("Failed")
        EXPIRED = "expired", gettext_lazy("Expired")

    tenant_exempt = (
        "an account export belongs to a person, not an organization; organization "
        "exports are read by organization and kind in organizations/exports.py only"
    )

    kind = models.CharField(max_length=16, choices=Kind.choices)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+"
    )
    requested_by_label = models.CharField(max_length=254)
    """The requester as recorded then (an email, or an API key's label)."""
    api_key_id = models.PositiveBigIntegerField(null=True, blank=True)
    """The key that requested it: the only key that may download it."""
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    file = models.FileField(storage=_export_storage, max_length=200, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    """Rows per file, as in the ZIP's manifest.json."""
    error = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    """When the file (and its link) goes: EXPORT_LINK_HOURS after it was ready."""

    class Meta:
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="data_export_org"),
            models.Index(fields=["requested_by", "kind", "-created_at"], name="data_export_user"),
            models.Index(fields=["status", "expires_at"], name="data_export_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} export #{self.pk} ({self.status})"

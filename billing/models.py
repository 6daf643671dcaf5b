"""Billing state: grants (what an organization may do), provider subscriptions and
customers, and every webhook event as received."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone

from kernel.tenancy import TenantModel


class SourceType(models.TextChoices):
    SUBSCRIPTION = "subscription", "Subscription"
    ONE_TIME = "one_time", "One-time purchase"
    MANUAL = "manual", "Manual (operator)"


class Grant(TenantModel):
    """One capability granted to an organization by one source. Billing events never
    flip a plan field in place: they add grants, extend `expires_at`, or revoke."""

    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.CASCADE, related_name="grants"
    )
    capability = models.CharField(max_length=100)
    plan = models.CharField(max_length=32, blank=True, help_text="The plan it came with.")
    source = models.CharField(
        max_length=200, help_text="e.g. stripe:subscription:sub_123, manual:7"
    )
    source_type = models.CharField(max_length=16, choices=SourceType.choices)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "source", "capability"], name="grant_unique_per_source"
            )
        ]
        indexes = [models.Index(fields=["organization", "revoked_at"], name="grant_org_live")]

    def __str__(self) -> str:
        return f"{self.capability} ({self.source})"

    @staticmethod
    def active(now: datetime) -> Q:
        """Not revoked and not expired at `now`."""
        return Q(revoked_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))


class SubscriptionStatus(models.TextChoices):
    INCOMPLETE = "incomplete", "Incomplete"
    TRIALING = "trialing", "Trialing"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    CANCELED = "canceled", "Canceled"
    UNPAID = "unpaid", "Unpaid"


LIVE_STATUSES = frozenset(
    {SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE}
)
"""Statuses in which a subscription grants its plan."""


class PlanSubscription(TenantModel):
    """Our copy of a provider's subscription, as of the newest event applied."""

    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.CASCADE, related_name="subscriptions"
    )
    provider = models.CharField(max_length=16)
    external_id = models.CharField(max_length=200)
    plan = models.CharField(max_length=32)
    status = models.CharField(
        max_length=16, choices=SubscriptionStatus.choices, default=SubscriptionStatus.INCOMPLETE
    )
    seats = models.PositiveIntegerField(default=1)
    item_id = models.CharField(max_length=200, blank=True, help_text="Stripe's item (seats)")
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    trial_end = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    scheduled_plan = models.CharField(
        max_length=32, blank=True, help_text="The plan it changes to at the period end."
    )
    paid_through = models.DateTimeField(
        null=True, blank=True, help_text="The latest period end an invoice paid for."
    )
    state_as_of = models.DateTimeField(
        null=True, blank=True, help_text="Provider time of the newest state applied."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "external_id"], name="subscription_unique_external"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.external_id} ({self.plan}, {self.status})"

    @property
    def source(self) -> str:
        return f"{self.provider}:subscription:{self.external_id}"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES


class BillingCustomer(TenantModel):
    """An organization's customer record at a provider."""

    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.CASCADE, related_name="billing_customers"
    )
    provider = models.CharField(max_length=16)
    external_id = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "external_id"], name="customer_unique"),
            models.UniqueConstraint(
                fields=["organization", "provider"], name="customer_one_per_provider"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.external_id}"


class Purchase(TenantModel):
    """Our copy of a one-time payment (the lifetime plan), like PlanSubscription for a
    subscription: its grants are derived from this row alone (billing/grants.py). A
    refund may arrive first: the row then holds `refunded_at` with no plan yet, and the
    purchase, when it comes, grants nothing — whatever the order, the same end."""

    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.CASCADE, related_name="purchases"
    )
    provider = models.CharField(max_length=16)
    external_id = models.CharField(max_length=200, help_text="The provider's payment id.")
    plan = models.CharField(max_length=32, blank=True, help_text="Empty: not arrived yet.")
    paid_at = models.DateTimeField(null=True, blank=True, help_text="Provider time.")
    refunded_at = models.DateTimeField(null=True, blank=True, help_text="Provider time.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "external_id"], name="purchase_unique")
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.external_id} ({self.plan or 'not arrived'})"

    @property
    def source(self) -> str:
        return f"{self.provider}:payment:{self.external_id}"


class Receipt(TenantModel):
    """The local provider's receipts: it is the provider, so it keeps them (Stripe and
    Polar keep their own invoices, read through `BillingProvider.invoices`)."""

    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.CASCADE, related_name="receipts"
    )
    reference = models.CharField(max_length=200, unique=True, help_text="The payment's id.")
    amount = models.PositiveIntegerField(help_text="In minor units (cents).")
    currency = models.CharField(max_length=3)
    issued_at = models.DateTimeField()
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "issued_at"], name="receipt_org_issued")]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"L-{self.pk:06}"


class EventStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored (nothing to do)"
    FAILED = "failed", "Failed (retryable)"


DONE_STATUSES = frozenset({EventStatus.PROCESSED, EventStatus.IGNORED})
"""An event in one of these is never applied again."""


class WebhookEvent(models.Model):
    """Every verified provider event, stored before it is processed. Not a tenant table:
    which organization an event concerns is only known once it is read."""

    provider = models.CharField(max_length=16)
    event_id = models.CharField(max_length=200)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    occurred_at = models.DateTimeField(help_text="The provider's event time.")
    status = models.CharField(
        max_length=16, choices=EventStatus.choices, default=EventStatus.RECEIVED
    )
    organization_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="webhook_event_unique")
        ]
        indexes = [models.Index(fields=["status", "received_at"], name="webhook_event_status")]

    def __str__(self) -> str:
        return f"{self.provider} {self.type} {self.event_id}"


class PendingCancellation(models.Model):
    """A subscription of an organization scheduled for deletion (or deleted) not yet
    confirmed cancelled at its provider. Written in the transaction that schedules or
    deletes the organization (billing/receivers.py), so a committed one always has one;
    deleted once the provider confirms, by the cancel
    task or reconciliation (billing/reconcile.py). Until then the customer may be billed:
    the admin lists what is still pending, with the last error."""

    tenant_exempt = "outlives its organization, which is being deleted"

    provider = models.CharField(max_length=16)
    external_id = models.CharField(max_length=200)
    organization_id = models.BigIntegerField(help_text="The deleted organization's id.")
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "external_id"], name="pending_cancellation_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.external_id} (organization {self.organization_id})"

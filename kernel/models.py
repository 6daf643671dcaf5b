from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _


class IdempotencyRecord(models.Model):
    """The result of a mutation called with an idempotency key (the API's
    `Idempotency-Key` header, a socket mutation's id), replayed for 24 hours to a repeat
    by the same principal (kernel/idempotency.py). Written in the mutation's transaction."""

    tenant_exempt = "keyed by principal, and by organization where there is one; pruned daily"

    principal = models.CharField(max_length=64, help_text="user:7, key:3")
    organization_id = models.BigIntegerField(null=True, blank=True)
    function = models.CharField(max_length=100)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    result = models.BinaryField(help_text="The output, as JSON")
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["principal", "organization_id", "function", "key"],
                name="idempotency_unique_key",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.function} {self.key} ({self.principal})"


class CurrentTransactionId(models.Func):
    """The writing transaction's id, as a bigint (xid8 has no Django type)."""

    template = "(pg_current_xact_id()::text::bigint)"
    output_field = models.BigIntegerField()


class Change(models.Model):
    """One organization's rows of one table (or, for tables captured by row, one row)
    changed in a committed transaction (written by the triggers of
    kernel/change_capture.py, pruned by kernel/prune.py)."""

    tenant_exempt = "written by database triggers for every organization; read by the listener"

    id = models.BigAutoField(primary_key=True)
    table_name = models.CharField(max_length=128)
    organization_id = models.BigIntegerField(null=True)
    row_key = models.CharField(max_length=128, null=True)  # noqa: DJ001  (triggers write NULL)
    """Tables captured by row: the changed row's key (a session's as its SHA-256)."""
    created_at = models.DateTimeField(db_default=Now())
    xid = models.BigIntegerField(db_default=CurrentTransactionId())
    """The writing transaction: a poller knows every transaction below the oldest one
    still running has committed (or not) for good (kernel/live/hub.py)."""

    class Meta:
        db_table = "kernel_change"
        indexes = [
            models.Index(fields=["created_at"], name="kernel_change_created"),
            models.Index(fields=["xid"], name="kernel_change_xid"),
        ]

    def __str__(self) -> str:
        if self.row_key is not None:
            return f"{self.table_name}:={self.row_key}"
        return f"{self.table_name}:{self.organization_id}"


class ChangeHorizon(models.Model):
    """The oldest transaction still running when a prune ran (its snapshot's xmin): change
    records below a horizon taken at least the retention ago belong to transactions that
    had ended by then, and may go (kernel/prune.py `prune_changes`)."""

    taken_at = models.DateTimeField(db_default=Now())
    oldest_running = models.BigIntegerField(
        help_text="The snapshot's xmin: every transaction below it had ended."
    )

    class Meta:
        db_table = "kernel_change_horizon"
        indexes = [models.Index(fields=["taken_at"], name="kernel_change_horizon_taken")]

    def __str__(self) -> str:
        return f"{self.oldest_running} at {self.taken_at}"


class PeriodicTurn(models.Model):
    """When a periodic task (a manifest's `Periodic`) is next due. The worker that moves
    `due_at` forward enqueues the task, so N workers run it once (kernel/worker.py)."""

    tenant_exempt = "one row per periodic task, not per organization"

    name = models.CharField(max_length=200, primary_key=True, help_text="The task's path")
    due_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name


class Notification(models.Model):
    """Something that happened, told to one person (kernel/notifications.py). It stores
    its kind and parameters, not its sentence: worded when shown or mailed, in the
    reader's language. Captured by row, keyed by its user: the bell's personal live query
    re-runs when one of the person's own notifications changes."""

    tenant_exempt = "a person's own, whichever organization it concerns; read by its user only"
    captured_by_row = "user_id"

    class Email(models.TextChoices):
        PENDING = "pending", _("To send now")
        DIGEST = "digest", _("In the next daily digest")
        SENT = "sent", _("Sent")
        SKIPPED = "skipped", _("Not sent (off)")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    organization = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="The organization it concerns, if any: it goes with it.",
    )
    kind = models.CharField(max_length=100, help_text="A NotificationKind's name (a manifest's)")
    params = models.JSONField(default=dict, blank=True)
    link = models.CharField(max_length=500, blank=True)
    key = models.CharField(
        max_length=200, blank=True, help_text="A repeat with the same key notifies once."
    )
    created_at = models.DateTimeField(db_default=Now())
    read_at = models.DateTimeField(null=True, blank=True)
    email = models.CharField(max_length=16, choices=Email, default=Email.SKIPPED)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "key"],
                condition=~models.Q(key=""),
                name="notification_unique_key",
            )
        ]
        indexes = [
            models.Index(
                fields=["user", "-created_at"],
                name="notification_user_unread",
                condition=models.Q(read_at__isnull=True),
            ),
            models.Index(fields=["user", "-created_at"], name="notification_user_recent"),
            models.Index(
                fields=["email"],
                name="notification_email_due",
                condition=models.Q(email__in=["pending", "digest"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for user {self.user_id}"


class NotificationPreference(models.Model):
    """How one person wants one category's notifications emailed; without a row,
    immediately. `security` is never off (kernel/notifications.py enforces it)."""

    class Delivery(models.TextChoices):
        IMMEDIATELY = "immediately", _("Immediately")
        DAILY = "daily", _("Daily digest")
        OFF = "off", _("Off")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    category = models.CharField(max_length=32)
    delivery = models.CharField(max_length=16, choices=Delivery, default=Delivery.IMMEDIATELY)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "category"], name="notification_preference_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.category}: {self.delivery} (user {self.user_id})"

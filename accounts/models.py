from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone

from kernel.outcomes import Outcome


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Signs in by email; there are no user names."""

    email = models.EmailField("email address", max_length=254, unique=True)
    name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(
        default=False, help_text="Operators: may sign in to the admin (with MFA)."
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()
    captured_by_row = True
    """A changed email or name re-runs live queries that show people; deactivating
    someone ends their live subscriptions (kernel/change_capture.py)."""

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    def __str__(self) -> str:
        return self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Emails are compared case-insensitively everywhere: store them lowercased.
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name or self.email.split("@")[0]


class SecurityEvent(models.Model):
    """Append-only record of account security events: step-up attempts, deletions, ...

    Written for successes and failures alike. Never holds secrets (no codes, passwords).
    The user's email is copied so the record outlives an account deletion.
    """

    Result = Outcome

    user = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    user_email = models.CharField(max_length=254)
    kind = models.CharField(max_length=64)
    result = models.CharField(max_length=16, choices=Result.choices)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="security_event_user")]

    def __str__(self) -> str:
        return f"{self.kind} {self.result} ({self.user_email})"


class StepUpGrant(models.Model):
    """Proof of a recent re-authentication, for one action, one session, a short time."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    session_key_hash = models.CharField(max_length=64)
    action = models.CharField(max_length=64)
    organization_id = models.BigIntegerField(null=True, blank=True)
    method = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "action", "expires_at"], name="stepup_grant_lookup")
        ]

    def __str__(self) -> str:
        return f"{self.action} for {self.user_id} until {self.expires_at:%H:%M:%S}"


class StepUpCode(models.Model):
    """A 6-digit code emailed for step-up. Only its keyed hash is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=64)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "action", "-created_at"], name="stepup_code_lookup")
        ]

    def __str__(self) -> str:
        return f"code for {self.action} ({self.user_id})"

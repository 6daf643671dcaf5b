from __future__ import annotations

import secrets
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from django.conf import settings
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


def avatar_path(user: User, filename: str) -> str:
    """A fresh unguessable name per upload: an avatar's address says nothing about whose
    it is, and a replaced image is never served again from a cached address."""
    extension = filename.rsplit(".", 1)[-1]
    return f"avatars/{secrets.token_urlsafe(18)}.{extension}"


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Signs in by email; there are no user names. Their profile (display
    name, avatar, time zone, language) is edited on /account/profile/."""

    email = models.EmailField("email address", max_length=254, unique=True)
    display_name = models.CharField(max_length=150, blank=True)
    avatar = models.FileField(upload_to=avatar_path, blank=True)
    """An uploaded image (accounts/avatars.py checked what it is); empty: initials."""
    time_zone = models.CharField(max_length=64, blank=True)
    """An IANA zone; empty: settings.TIME_ZONE. Activated per request (middleware)."""
    language = models.CharField(max_length=16, blank=True)
    """A code of settings.LANGUAGES; empty: settings.LANGUAGE_CODE."""
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

    @property
    def name(self) -> str:
        """What people see: the display name, else the email address."""
        return self.display_name or self.email

    @property
    def initials(self) -> str:
        """Up to two letters for the default avatar: of the name's first and last
        words, else of the address before the @."""
        words = [w for w in self.display_name.split() if w[:1].isalnum()]
        if words:
            letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
        else:
            local = self.email.split("@")[0]
            letters = next((c for c in local if c.isalnum()), "?")
        return letters.upper()

    @property
    def avatar_url(self) -> str | None:
        return self.avatar.url if self.avatar else None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone or settings.TIME_ZONE)

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.display_name or self.email.split("@")[0]


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


class ImpersonationSession(models.Model):
    """An operator viewing the site as a person (accounts/impersonation.py): who, as
    whom, why, and for how long. The person sees these on their security page."""

    operator = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    operator_email = models.CharField(max_length=254)
    """Copied: the record outlives the operator's account."""
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    reason = models.TextField()
    started_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=32, blank=True)
    """stopped, expired, signed_out."""

    class Meta:
        indexes = [models.Index(fields=["user", "-started_at"], name="impersonation_user")]

    def __str__(self) -> str:
        return f"{self.operator_email} as {self.user_id} at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def minutes(self) -> int:
        """How long it lasted (so far, while it goes on), in whole minutes, at least 1."""
        seconds = ((self.ended_at or timezone.now()) - self.started_at).total_seconds()
        return max(1, round(seconds / 60))

"""Step-up grants and the flows that mint them; the kernel enforces the levels
(kernel/stepup.py) and asks this module, its registered step-up source, for grants.

Grants are minted by a successful re-authentication through the step-up page
(accounts/views.py): allauth's own re-authentication flows for password, TOTP and
passkeys (see accounts/receivers.py), or an emailed 6-digit code for accounts without a
password. A grant belongs to one user, one session, one action (and organization) and
lasts STEP_UP_GRANT_SECONDS; level-4 grants are spent by the action.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final
from urllib.parse import urlencode

from allauth.account.internal.flows.login import get_authentication_records
from django.conf import settings
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from accounts.audit import record_security_event
from accounts.models import SecurityEvent, StepUpCode, StepUpGrant, User
from accounts.signals import step_up_attempted
from kernel import errors
from kernel.sensitive import get_sensitive_action

CODE_DIGITS: Final = 6
CODE_MAX_ATTEMPTS: Final = 5
CODE_RESEND_COOLDOWN_SECONDS: Final = 60
CODES_PER_WINDOW: Final = 5
CODE_WINDOW_SECONDS: Final = 15 * 60


def _session_hash(request: HttpRequest) -> str:
    """The session's key, hashed as the kernel hashes it (kernel/actors.py)."""
    if not request.session.session_key:
        request.session.save()
    key = request.session.session_key or ""
    return hashlib.sha256(key.encode()).hexdigest()


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise errors.unauthenticated()
    return user


@dataclass(frozen=True)
class _SessionOnly:
    """allauth reads its authentication records from `request.session` only."""

    session: Any


class SessionStepUp:
    """The kernel's step-up source (kernel/sources.py): sign-in times from allauth's
    records in the session, and the grants minted here."""

    def sign_in_times(self, session: Any, user: Any) -> tuple[float | None, float | None]:
        records = get_authentication_records(_SessionOnly(session), user)
        logins = [r["at"] for r in records if not r.get("reauthenticated")]
        again = [r["at"] for r in records if r.get("reauthenticated")]
        return (logins[-1] if logins else None, again[-1] if again else None)

    def _grants(
        self, *, user_id: int, session_key_hash: str, action: str, organization_id: int | None
    ) -> QuerySet[StepUpGrant]:
        grants = StepUpGrant.objects.filter(
            user_id=user_id,
            session_key_hash=session_key_hash,
            action=action,
            expires_at__gt=timezone.now(),
            used_at__isnull=True,
        )
        if get_sensitive_action(action).organization_scoped:
            grants = grants.filter(organization_id=organization_id)
        return grants.order_by("created_at")

    def has_grant(
        self, *, user_id: int, session_key_hash: str, action: str, organization_id: int | None
    ) -> bool:
        return self._grants(
            user_id=user_id,
            session_key_hash=session_key_hash,
            action=action,
            organization_id=organization_id,
        ).exists()

    def spend_grant(
        self, *, user_id: int, session_key_hash: str, action: str, organization_id: int | None
    ) -> bool:
        grant = self._grants(
            user_id=user_id,
            session_key_hash=session_key_hash,
            action=action,
            organization_id=organization_id,
        ).first()
        # Single use: only one caller can flip used_at from NULL.
        return grant is not None and bool(
            StepUpGrant.objects.filter(pk=grant.pk, used_at__isnull=True).update(
                used_at=timezone.now()
            )
        )

    def page_url(self, action: str, next_url: str) -> str:
        return f"{reverse('account_step_up', args=[action])}?{urlencode({'next': next_url})}"

    def has_two_factor(self, user_id: int) -> bool:
        from allauth.mfa.models import Authenticator

        second_factors = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)
        found = Authenticator.objects.filter(user_id=user_id, type__in=second_factors)
        return bool(found.exists())

    def two_factor_url(self) -> str:
        return reverse("mfa_index")


def mint_grant(
    request: HttpRequest, action_name: str, *, method: str, organization_id: int | None = None
) -> StepUpGrant:
    action = get_sensitive_action(action_name)
    user = _user(request)
    grant = StepUpGrant.objects.create(
        user=user,
        session_key_hash=_session_hash(request),
        action=action.name,
        organization_id=organization_id if action.organization_scoped else None,
        method=method,
        expires_at=timezone.now() + timedelta(seconds=settings.STEP_UP_GRANT_SECONDS),
    )
    record_security_event(
        request=request,
        user=user,
        kind=f"step_up.{method}",
        result=SecurityEvent.Result.SUCCESS,
        action=action.name,
    )
    if grant.organization_id is not None:
        step_up_attempted.send(
            sender=StepUpGrant,
            request=request,
            user=user,
            action=action.name,
            method=method,
            organization_id=grant.organization_id,
            success=True,
        )
    return grant


# --- emailed codes -----------------------------------------------------------------------


def _code_hash(user: User, action: str, code: str) -> str:
    return salted_hmac(
        "accounts.step_up_code", f"{user.pk}:{action}:{code}", algorithm="sha256"
    ).hexdigest()


def issue_code(request: HttpRequest, action_name: str) -> str:
    """Create a code for the action and return it (the caller emails it).

    Raises `rate_limited` within the resend cooldown or past CODES_PER_WINDOW.
    """
    action = get_sensitive_action(action_name)
    user = _user(request)
    now = timezone.now()
    recent = StepUpCode.objects.filter(
        user=user, action=action.name, created_at__gt=now - timedelta(seconds=CODE_WINDOW_SECONDS)
    ).order_by("-created_at")
    latest = recent.first()
    if latest is not None:
        wait = CODE_RESEND_COOLDOWN_SECONDS - (now - latest.created_at).total_seconds()
        if wait > 0:
            raise errors.rate_limited(
                int(wait) + 1, _("Wait a moment before asking for a new code.")
            )
    if recent.count() >= CODES_PER_WINDOW:
        raise errors.rate_limited(CODE_WINDOW_SECONDS, _("Too many codes requested. Try later."))
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    # A new code replaces the previous ones.
    StepUpCode.objects.filter(user=user, action=action.name, used_at__isnull=True).update(
        used_at=now
    )
    StepUpCode.objects.create(
        user=user,
        action=action.name,
        code_hash=_code_hash(user, action.name, code),
        expires_at=now + timedelta(seconds=settings.STEP_UP_CODE_SECONDS),
    )
    return code


def redeem_code(
    request: HttpRequest, action_name: str, code: str, *, organization_id: int | None = None
) -> bool:
    """Mint a grant if `code` is the live code for this action; audit either way."""
    action = get_sensitive_action(action_name)
    user = _user(request)
    candidate = (
        StepUpCode.objects.filter(
            user=user, action=action.name, used_at__isnull=True, expires_at__gt=timezone.now()
        )
        .order_by("-created_at")
        .first()
    )
    accepted = False
    if candidate is not None:
        # Count the attempt first, atomically, so parallel guesses cannot exceed the limit.
        StepUpCode.objects.filter(pk=candidate.pk).update(attempts=F("attempts") + 1)
        candidate.refresh_from_db(fields=["attempts"])
        if candidate.attempts > CODE_MAX_ATTEMPTS:
            StepUpCode.objects.filter(pk=candidate.pk).update(used_at=timezone.now())
        elif constant_time_compare(candidate.code_hash, _code_hash(user, action.name, code)):
            accepted = bool(
                StepUpCode.objects.filter(pk=candidate.pk, used_at__isnull=True).update(
                    used_at=timezone.now()
                )
            )
    if not accepted:
        record_security_event(
            request=request,
            user=user,
            kind="step_up.email_code",
            result=SecurityEvent.Result.FAILURE,
            action=action.name,
        )
        if action.organization_scoped and organization_id is not None:
            step_up_attempted.send(
                sender=StepUpGrant,
                request=request,
                user=user,
                action=action.name,
                method="email_code",
                organization_id=organization_id,
                success=False,
            )
        return False
    mint_grant(request, action.name, method="email_code", organization_id=organization_id)
    return True

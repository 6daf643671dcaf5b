"""The sensitive-action (step-up) guard: enforces kernel/sensitive.py's levels.

Grants are minted by a successful re-authentication through the step-up page
(accounts/views.py): allauth's own re-authentication flows for password, TOTP and
passkeys (see accounts/receivers.py), or an emailed 6-digit code for accounts without a
password. A grant belongs to one user, one session, one action (and organization) and
lasts STEP_UP_GRANT_SECONDS; level-4 grants are spent by the action.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import timedelta
from typing import Final

from allauth.account.internal.flows.login import get_authentication_records
from allauth.account.internal.flows.reauthentication import did_recently_reauthenticate
from django.conf import settings
from django.db.models import F
from django.dispatch import Signal
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.audit import record_security_event
from accounts.models import SecurityEvent, StepUpCode, StepUpGrant, User
from kernel import errors
from kernel.actor import Actor, AuthMethod
from kernel.sensitive import SensitiveAction, get_sensitive_action

# Sent for organization-scoped step-ups (success or failure), so the organization's audit
# log records them: request, user, action, method, organization_id, success.
step_up_attempted = Signal()

CODE_DIGITS: Final = 6
CODE_MAX_ATTEMPTS: Final = 5
CODE_RESEND_COOLDOWN_SECONDS: Final = 60
CODES_PER_WINDOW: Final = 5
CODE_WINDOW_SECONDS: Final = 15 * 60


def _session_hash(request: HttpRequest) -> str:
    if not request.session.session_key:
        request.session.save()
    key = request.session.session_key or ""
    return hashlib.sha256(key.encode()).hexdigest()


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise errors.unauthenticated()
    return user


def fresh_session(request: HttpRequest) -> bool:
    """Signed in (not merely re-authenticated) within STEP_UP_FRESH_SESSION_SECONDS."""
    records = get_authentication_records(request, _user(request))
    logins = [r for r in records if not r.get("reauthenticated")]
    return bool(logins) and time.time() - logins[-1]["at"] < settings.STEP_UP_FRESH_SESSION_SECONDS


def _live_grants(
    request: HttpRequest, action: SensitiveAction, organization_id: int | None
) -> list[StepUpGrant]:
    grants = StepUpGrant.objects.filter(
        user=_user(request),
        session_key_hash=_session_hash(request),
        action=action.name,
        expires_at__gt=timezone.now(),
        used_at__isnull=True,
    )
    if action.organization_scoped:
        grants = grants.filter(organization_id=organization_id)
    return list(grants.order_by("created_at"))


def require_step_up(
    request: HttpRequest,
    action_name: str,
    *,
    organization_id: int | None = None,
    consume: bool | None = None,
) -> None:
    """Raise `step_up_required` unless the session satisfies the action's level.

    `consume` (default: level 4) spends the grant, so it works once.
    """
    action = get_sensitive_action(action_name)
    actor = getattr(request, "auth", None)
    if isinstance(actor, Actor) and actor.auth_method == AuthMethod.API_KEY:
        raise errors.step_up_required("API keys cannot perform this action; use the web app.")
    if action.organization_scoped and organization_id is None:
        raise TypeError(f"{action.name} is organization-scoped: pass organization_id")
    consume = action.level == 4 if consume is None else consume

    if action.level == 1 and fresh_session(request):
        return
    if action.level == 2 and (fresh_session(request) or did_recently_reauthenticate(request)):
        return
    grants = _live_grants(request, action, organization_id)
    if action.level <= 2 and grants:
        return
    if action.level >= 3 and grants:
        if not consume:
            return
        # Single use: only one request can flip used_at from NULL.
        if StepUpGrant.objects.filter(pk=grants[0].pk, used_at__isnull=True).update(
            used_at=timezone.now()
        ):
            return
    raise errors.step_up_required(f"Confirm it is you to {action.description}.")


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
            raise errors.rate_limited(int(wait) + 1, "Wait a moment before asking for a new code.")
    if recent.count() >= CODES_PER_WINDOW:
        raise errors.rate_limited(CODE_WINDOW_SECONDS, "Too many codes requested. Try later.")
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

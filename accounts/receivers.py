"""allauth's re-authentication flows (password, TOTP, passkey) feed the step-up guard."""

from __future__ import annotations

from typing import Any

from allauth.account.signals import authentication_step_completed
from allauth.mfa.signals import authentication_failed
from django.dispatch import receiver
from django.http import HttpRequest

from accounts import pending
from accounts.audit import record_security_event
from accounts.models import SecurityEvent, User
from accounts.stepup import mint_grant
from kernel.actor import Person, Principal
from kernel.errors import AppError, ErrorCode
from kernel.functions import Function, function_refused


@receiver(authentication_step_completed)
def grant_pending_step_up(
    sender: Any, request: HttpRequest, method: str, user: User, **kwargs: Any
) -> None:
    if not kwargs.get("reauthenticated"):
        return  # a sign-in, not a step-up
    step_up = pending.recall(request)
    if step_up is None:
        return
    kind = kwargs.get("type") or method  # "totp" / "webauthn" for mfa, else "password"
    mint_grant(request, step_up.action, method=str(kind), organization_id=step_up.organization_id)


@receiver(authentication_failed)
def audit_failed_mfa(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    record_security_event(
        request=request,
        user=user,
        kind="step_up.mfa" if kwargs.get("reauthentication") else "login.mfa",
        result=SecurityEvent.Result.FAILURE,
    )


@receiver(function_refused)
def audit_refused_deletion(
    sender: Any, function: Function, principal: Principal, error: AppError, **kwargs: Any
) -> None:
    """A refused account deletion stays on the account's record (its transaction, and
    whatever it wrote, was rolled back)."""
    if function.name != "account.delete" or not isinstance(principal, Person):
        return
    if error.code == ErrorCode.STEP_UP_REQUIRED:
        return  # not refused: asked to confirm it is them (the step-up is audited)
    record_security_event(
        request=None,
        ip_address=principal.auth.client_ip,
        user=User.objects.filter(pk=principal.user_id).first(),
        kind="account.delete",
        result=SecurityEvent.Result.DENIED,
        reason=error.message,
    )

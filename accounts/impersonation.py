"""Operators viewing the site as a person ("view as"), for support.

Not django-hijack (docs/impersonation.md says why): a small flow on Django's sessions.
Starting is a registered mutation with a level-4 step-up (`impersonation.start`): the
operator must be active staff with a verified email and two-factor, give a reason, and
may not view as another operator. Then the page signs the browser in as the person and
keeps, in the new session, who the operator is and until when (IMPERSONATION_MINUTES).

While it lasts, kernel/actors.py puts the operator in every actor's Authentication (the
audit log records both; the door refuses step-up and billing functions), a banner shows
on every page, and this module's middleware refuses allauth's account-changing pages.
Stop (or expiry) signs the operator back in as themselves; signing out ends it too.
Each session is an ImpersonationSession row and a SecurityEvent on the person's record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from allauth.account.models import EmailAddress
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import BACKEND_SESSION_KEY, login, logout, user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from pydantic import Field

from accounts.audit import record_security_event
from accounts.models import ImpersonationSession, SecurityEvent, User
from kernel import actors, errors
from kernel.actor import Person
from kernel.door import IMPERSONATION_REFUSED
from kernel.functions import mutation
from kernel.inputs import Input
from kernel.notifications import notify
from kernel.stepup import require_step_up

SESSION_KEY: Final = actors.IMPERSONATION_SESSION_KEY
"""In the impersonated session: {"id", "operator_id", "operator_label", "expires_at"}."""

REFUSED_PATHS: Final = (
    "/accounts/password/",
    "/accounts/2fa/totp/",
    "/accounts/2fa/webauthn/",
    "/accounts/2fa/recovery-codes/",
    "/accounts/reauthenticate/",
    "/accounts/3rdparty/",
    "/account/delete/",
    "/account/step-up/",
)
"""allauth's and our account-changing pages, refused whatever the method (some show
secrets on GET: recovery codes, a new TOTP secret)."""
REFUSED_WRITES: Final = ("/accounts/email/", "/accounts/sessions/")
"""Pages the operator may look at, not change."""


@dataclass(frozen=True)
class Impersonation:
    id: int
    operator_id: int
    operator_label: str
    expires_at: datetime

    @property
    def seconds_left(self) -> int:
        return max(0, int((self.expires_at - timezone.now()).total_seconds()))


def current(session: Any) -> Impersonation | None:
    """The impersonation this session is, if any (a request's or a socket's session)."""
    found = session.get(SESSION_KEY) if session is not None else None
    if not isinstance(found, dict):
        return None
    expires_at = parse_datetime(str(found.get("expires_at", "")))
    if expires_at is None:
        return None
    return Impersonation(
        int(found["id"]), int(found["operator_id"]), str(found["operator_label"]), expires_at
    )


# --- starting: the registered mutation -----------------------------------------------------


class ImpersonationStart(Input):
    user_id: int = Field(description="The person to view as")
    reason: str = Field(min_length=10, max_length=500, description="Why (the person is shown it)")


def may_impersonate(operator: User) -> bool:
    return (
        operator.is_active
        and operator.is_staff
        and EmailAddress.objects.filter(user=operator, verified=True).exists()
        and is_mfa_enabled(operator)
    )


@mutation(
    "accounts.impersonation_start",
    personal=True,
    internal=True,
    output=int,
    unaudited="an account-level record: the ImpersonationSession and the viewed person's "
    "security log; what the operator then does is audited in each organization",
)
def impersonation_start(*, actor: Person, args: ImpersonationStart) -> int:
    """Record the start of viewing as `user_id` and return its ImpersonationSession id;
    the page (accounts/impersonation_views.py) then switches the browser's session.
    Only active staff with a verified email and two-factor; never as another operator
    (staff or superuser) nor as an inactive account. The checks come before the level-4
    step-up (spent here), so nobody confirms it is them only to be refused."""
    if actor.impersonated:
        raise errors.forbidden(IMPERSONATION_REFUSED)
    operator = User.objects.get(pk=actor.user_id)
    if not may_impersonate(operator):
        raise errors.forbidden(
            "Only operators with a verified email and two-factor may view as a person."
        )
    target = User.objects.filter(pk=args.user_id, is_active=True).first()
    if target is None:
        raise errors.not_found("There is no such person.")
    if target.pk == operator.pk or target.is_staff or target.is_superuser:
        raise errors.forbidden("Operators cannot view as another operator.")
    require_step_up(actor, "impersonation.start")
    reason = args.reason.strip()
    now = timezone.now()
    row = ImpersonationSession.objects.create(
        operator=operator,
        operator_email=operator.email,
        user=target,
        reason=reason,
        started_at=now,
        expires_at=now + timedelta(minutes=settings.IMPERSONATION_MINUTES),
    )
    record_security_event(
        request=None,
        ip_address=actor.auth.client_ip,
        user=target,
        kind="impersonation.start",
        result=SecurityEvent.Result.SUCCESS,
        operator=operator.email,
        reason=reason,
        impersonation_id=row.pk,
    )
    _admin_log(operator.pk, target, f"Started viewing as this person: {reason}")
    notify(
        "account.viewed_by_operator",
        users=[target.pk],
        params={"operator": operator.email, "reason": reason},
        link=reverse("account_overview"),
        key=f"impersonation:{row.pk}",
    )
    return row.pk


def _admin_log(operator_id: int, target: User, message: str) -> None:
    """The operator's own history, in the admin's "Recent actions" and the user's history."""
    LogEntry.objects.log_actions(
        user_id=operator_id,
        queryset=[target],
        action_flag=CHANGE,
        change_message=message,
        single_object=True,
    )


# --- switching sessions ---------------------------------------------------------------------


def switch_to(request: HttpRequest, session_id: int) -> None:
    """Sign the browser in as the person, the operator kept in the new session."""
    row = ImpersonationSession.objects.select_related("user", "operator").get(pk=session_id)
    backend = request.session.get(BACKEND_SESSION_KEY, settings.AUTHENTICATION_BACKENDS[0])
    login(request, row.user, backend=backend)  # a new session: the operator's is flushed
    request.session[SESSION_KEY] = {
        "id": row.pk,
        "operator_id": row.operator_id,
        "operator_label": f"operator {row.operator_email}",
        "expires_at": row.expires_at.isoformat(),
    }


def _close(impersonation: Impersonation, why: str) -> ImpersonationSession | None:
    row = ImpersonationSession.objects.filter(pk=impersonation.id, ended_at__isnull=True).first()
    if row is None:
        return None
    row.ended_at = min(timezone.now(), row.expires_at) if why == "expired" else timezone.now()
    row.end_reason = why
    row.save(update_fields=["ended_at", "end_reason"])
    record_security_event(
        request=None,
        user=row.user,
        kind="impersonation.stop",
        result=SecurityEvent.Result.SUCCESS,
        operator=row.operator_email,
        why=why,
        impersonation_id=row.pk,
    )
    if row.operator_id is not None:
        _admin_log(row.operator_id, row.user, f"Stopped viewing as this person ({why}).")
    return row


def end(request: HttpRequest, why: str) -> User | None:
    """End the impersonation: back to the operator, signed in as themselves (a session of
    their own with no sign-in record, so any step-up asks them again), or signed out if
    they may no longer impersonate. Returns the person who was viewed."""
    impersonation = current(request.session)
    if impersonation is None:
        return None
    viewed = request.user if isinstance(request.user, User) else None
    _close(impersonation, why)
    operator = User.objects.filter(pk=impersonation.operator_id).first()
    backend = request.session.get(BACKEND_SESSION_KEY, settings.AUTHENTICATION_BACKENDS[0])
    if operator is not None and may_impersonate(operator):
        login(request, operator, backend=backend)
    else:
        logout(request)
    return viewed


@receiver(user_logged_out)
def _signed_out(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    """Signing out during an impersonation ends it (and the operator's access with it)."""
    impersonation = current(getattr(request, "session", None))
    if impersonation is not None:
        _close(impersonation, "signed_out")


# --- every request -------------------------------------------------------------------------


class ImpersonationMiddleware:
    """Ends an expired impersonation on the next request; refuses the person's own
    account changes (password, email, two-factor, sessions, deletion) to the operator."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        impersonation = current(request.session)
        if impersonation is None:
            return self.get_response(request)
        if impersonation.seconds_left <= 0:
            viewed = end(request, "expired")
            messages.info(
                request,
                f"Your {settings.IMPERSONATION_MINUTES}-minute view as "
                f"{viewed.email if viewed else 'the person'} ended.",
            )
            return redirect(after_end(request, viewed))
        path = request.path
        writes = request.method not in ("GET", "HEAD", "OPTIONS")
        if path.startswith(REFUSED_PATHS) or (writes and path.startswith(REFUSED_WRITES)):
            messages.error(request, IMPERSONATION_REFUSED)
            return redirect("dashboard")
        return self.get_response(request)


def after_end(request: HttpRequest, viewed: User | None) -> str:
    """The operator goes back to the person's admin page; a signed-out browser to sign in."""
    if request.user.is_authenticated and viewed is not None:
        return f"/admin/accounts/user/{viewed.pk}/change/"
    return str(settings.LOGIN_URL)


def banner(request: HttpRequest) -> dict[str, Any]:
    """The banner's facts (templates/components/impersonation_banner.html)."""
    impersonation = current(getattr(request, "session", None))
    if impersonation is None:
        return {}
    return {
        "impersonation": {
            "operator": impersonation.operator_label.removeprefix("operator "),
            "expires_at": impersonation.expires_at,
            "minutes_left": (impersonation.seconds_left + 59) // 60,
        }
    }

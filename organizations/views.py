"""Organization pages: thin transports over queries and mutations (forms work without JS)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from accounts.views import step_up_required
from kernel import errors
from kernel.actor import Actor
from kernel.errors import AppError, ErrorCode
from kernel.guard import resolve_actor
from kernel.permissions import CATALOGUE, Role, role_permissions
from organizations import mutations, queries
from organizations.actors import ACTIVE_ORGANIZATION_SESSION_KEY, actor_in_organization
from organizations.api_keys import api_key_create, api_key_list, api_key_revoke
from organizations.audit import AuditAction

# Not form errors: these render the error page with their status.
PAGE_ERRORS = (ErrorCode.NOT_FOUND, ErrorCode.FORBIDDEN)


def _actor(request: HttpRequest) -> Actor:
    return resolve_actor(request)


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # behind login_required
    return request.user


def _attempt(
    request: HttpRequest, action: Callable[[], Any], success: str, back: str
) -> HttpResponse:
    """Run one mutation for a form: a message either way, then back to the page.
    `not_found` and `forbidden` are not form errors: they render the error page."""
    try:
        action()
    except AppError as error:
        if error.code in PAGE_ERRORS:
            raise
        messages.error(request, error.message)
    else:
        messages.success(request, success)
    return redirect(back)


def _int(value: str | None, field: str) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise errors.invalid_input(fields={field: ["A number is required."]}) from None


def _role(value: str | None) -> Role:
    try:
        return Role(value or "")
    except ValueError:
        raise errors.invalid_input(fields={"role": ["Choose a role."]}) from None


# --- organizations ---------------------------------------------------------------------------


@login_required
@require_POST
def switch(request: HttpRequest) -> HttpResponse:
    organization_id = _int(request.POST.get("organization_id"), "organization_id")
    actor = actor_in_organization(request.user, organization_id)  # not_found unless a member
    request.session[ACTIVE_ORGANIZATION_SESSION_KEY] = actor.organization_id
    return redirect("organization_members")


@login_required
@require_http_methods(["GET", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            organization = mutations.organization_create(
                user=_user(request), name=request.POST.get("name", "")
            )
        except AppError as error:
            if error.code in PAGE_ERRORS:
                raise
            return render(
                request,
                "organizations/create.html",
                {"error": error, "name": request.POST.get("name", "")},
                status=error.status,
            )
        request.session[ACTIVE_ORGANIZATION_SESSION_KEY] = organization.pk
        messages.success(request, f"{organization.name} is ready. Invite your team.")
        return redirect("organization_members")
    return render(request, "organizations/create.html", {"team_mode": mutations.is_team_mode()})


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    organization = queries.organization_get(actor=actor)
    error = None
    if request.method == "POST":
        try:
            mutations.organization_rename(actor=actor, name=request.POST.get("name", ""))
        except AppError as failure:
            if failure.code in PAGE_ERRORS:
                raise
            error = failure
        else:
            messages.success(request, "Saved.")
            return redirect("organization_settings")
    return render(
        request,
        "organizations/settings.html",
        {
            "organization": organization,
            "error": error,
            "organizations": queries.organizations_of_user(_user(request)),
            "team_mode": mutations.is_team_mode(),
        },
        status=error.status if error else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
@step_up_required("organization.delete")
def delete(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    organization = queries.organization_get(actor=actor)
    if request.method == "POST":
        try:
            mutations.organization_delete(
                actor=actor, request=request, confirm_name=request.POST.get("confirm_name", "")
            )
        except AppError as error:
            if error.code in PAGE_ERRORS:
                raise
            details = [message for field in error.fields.values() for message in field]
            messages.error(request, " ".join([error.message, *details]))
            return redirect("organization_delete")
        request.session.pop(ACTIVE_ORGANIZATION_SESSION_KEY, None)
        messages.success(request, f"{organization.name} and all its data were deleted.")
        return redirect("landing")
    return render(request, "organizations/delete.html", {"organization": organization})


# --- members and invitations -------------------------------------------------------------------


@login_required
def members(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    can_see_invitations = actor.role in (Role.OWNER, Role.ADMIN)
    return render(
        request,
        "organizations/members.html",
        {
            "organization": queries.organization_get(actor=actor),
            "members": queries.member_list(actor=actor),
            "invitations": queries.invitation_list(actor=actor) if can_see_invitations else [],
            "roles": [role for role in Role if role.rank <= actor.role.rank],
            "all_roles": list(Role),
            "matrix": queries.permission_matrix(),
            "team_mode": mutations.is_team_mode(),
        },
    )


@login_required
@require_POST
def member_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    actor = _actor(request)
    return _attempt(
        request,
        lambda: mutations.member_update_role(
            actor=actor, membership_id=membership_id, role=_role(request.POST.get("role"))
        ),
        "Role changed.",
        "organization_members",
    )


@login_required
@require_POST
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    actor = _actor(request)
    return _attempt(
        request,
        lambda: mutations.member_remove(actor=actor, membership_id=membership_id),
        "Member removed.",
        "organization_members",
    )


@login_required
@require_POST
def leave(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    try:
        mutations.member_leave(actor=actor)
    except AppError as error:
        messages.error(request, error.message)
        return redirect("organization_members")
    request.session.pop(ACTIVE_ORGANIZATION_SESSION_KEY, None)
    messages.success(request, "You left the organization.")
    return redirect("landing")


@login_required
@require_http_methods(["GET", "POST"])
@step_up_required("organization.transfer")
def transfer(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    if request.method == "POST":
        membership_id = _int(request.POST.get("membership_id"), "membership_id")
        return _attempt(
            request,
            lambda: mutations.ownership_transfer(
                actor=actor, request=request, membership_id=membership_id
            ),
            "Ownership transferred. You are now an admin.",
            "organization_members",
        )
    others = [m for m in queries.member_list(actor=actor) if m.user_id != actor.user_id]
    return render(request, "organizations/transfer.html", {"members": others})


@login_required
@require_POST
def invite(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    email = request.POST.get("email", "")
    return _attempt(
        request,
        lambda: mutations.invitation_create(
            actor=actor, request=request, email=email, role=_role(request.POST.get("role"))
        ),
        f"Invitation sent to {email.strip()}.",
        "organization_members",
    )


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    actor = _actor(request)
    return _attempt(
        request,
        lambda: mutations.invitation_revoke(actor=actor, invitation_id=invitation_id),
        "Invitation revoked.",
        "organization_members",
    )


@login_required
@require_POST
def invitation_resend(request: HttpRequest, invitation_id: int) -> HttpResponse:
    actor = _actor(request)
    return _attempt(
        request,
        lambda: mutations.invitation_resend(
            actor=actor, request=request, invitation_id=invitation_id
        ),
        "Invitation sent again.",
        "organization_members",
    )


# --- an invitation link --------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def invitation_detail(request: HttpRequest, token: str) -> HttpResponse:
    """Works for the signed-in invitee, a known user who must sign in first, and a new
    person (sign up, then come back). Used or revoked links get a clear page."""
    invitation = mutations.invitation_by_token(token)
    problem = mutations.invitation_problem(invitation)
    if problem or invitation is None:
        return render(
            request,
            "organizations/invitation.html",
            {"problem": problem},
            status=410 if invitation else 404,
        )
    here = reverse("invitation_detail", args=[token])
    user = request.user if isinstance(request.user, User) else None
    if request.method == "POST" and user is not None:
        try:
            if "decline" in request.POST:
                mutations.invitation_decline(user=user, token=token)
                messages.info(
                    request, f"You declined the invitation to {invitation.organization.name}."
                )
                return redirect("landing")
            membership = mutations.invitation_accept(user=user, token=token)
        except AppError as error:
            messages.error(request, error.message)
            return HttpResponseRedirect(here)
        request.session[ACTIVE_ORGANIZATION_SESSION_KEY] = membership.organization_id
        messages.success(request, f"Welcome to {invitation.organization.name}.")
        return redirect("organization_members")
    known = User.objects.filter(email__iexact=invitation.email).exists()
    return render(
        request,
        "organizations/invitation.html",
        {
            "invitation": invitation,
            "next": here,
            "known": known,
            "matches": user is not None and user.email.lower() == invitation.email.lower(),
        },
    )


# --- audit log ------------------------------------------------------------------------------------


@login_required
def audit(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    before = request.GET.get("before")
    page = queries.audit_list(
        actor=actor,
        action=request.GET.get("action") or None,
        result=request.GET.get("result") or None,
        before=int(before) if before and before.isdigit() else None,
    )
    return render(
        request,
        "organizations/audit.html",
        {
            "page": page,
            "actions": [a.value for a in AuditAction],
            "results": ["success", "failure", "denied"],
            "selected": {
                "action": request.GET.get("action", ""),
                "result": request.GET.get("result", ""),
            },
        },
    )


# --- API keys -------------------------------------------------------------------------------------

EXPIRY_CHOICES = {"": None, "30": 30, "90": 90, "365": 365}


@login_required
@require_http_methods(["GET", "POST"])
@step_up_required("api_keys.create", unsafe_only=True)
def api_keys(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    created_key: str | None = None
    error: AppError | None = None
    if request.method == "POST":
        days = EXPIRY_CHOICES.get(request.POST.get("expires_in_days", ""))
        try:
            _key, created_key = api_key_create(
                actor=actor,
                request=request,
                name=request.POST.get("name", ""),
                permissions=request.POST.getlist("permissions"),
                expires_at=timezone.now() + timedelta(days=days) if days else None,
            )
        except AppError as failure:
            if failure.code in PAGE_ERRORS:
                raise
            error = failure
    return render(
        request,
        "organizations/api_keys.html",
        {
            "keys": api_key_list(actor=actor),
            "created_key": created_key,
            "error": error,
            "grantable": [(p, CATALOGUE[p].description) for p in role_permissions(actor.role)],
        },
        status=error.status if error else 200,
    )


@login_required
@require_POST
def api_key_revoke_view(request: HttpRequest, key_id: int) -> HttpResponse:
    actor = _actor(request)
    return _attempt(
        request, lambda: api_key_revoke(actor=actor, key_id=key_id), "Key revoked.", "api_keys"
    )

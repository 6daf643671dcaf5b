"""Organization pages: thin transports over the registered functions. Forms work without
JavaScript; refusals show on the form with what was typed (kernel/pages.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.models import User
from kernel import actors
from kernel.door import call
from kernel.pages import ActionView, Form, FormView, filtered, step_up_first
from kernel.permissions import CATALOGUE, Role, role_permissions
from organizations import mutations, queries
from organizations.schemas import KeyLifetime

# --- organizations ---------------------------------------------------------------------------


@require_POST
def switch(request: HttpRequest) -> HttpResponse:
    """Act in another of the person's organizations (session state, not a function)."""
    organization_id = request.POST.get("organization_id", "")
    if not organization_id.isdigit():
        messages.error(request, "Choose an organization.")
        return redirect("organization_settings")
    actor = actors.resolve(request, organization_id=int(organization_id))  # not_found unless member
    actors.set_active_organization(request, actor.organization_id)
    # The header's switcher goes to the dashboard: the page it was on may show an object
    # of the organization just left.
    after = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(after, {request.get_host()}, request.is_secure()):
        return redirect(after)
    return redirect("organization_members")


class CreatePage(FormView):
    function = mutations.organization_create
    template_name = "organizations/create.html"

    def context(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        actors.resolve_person(request)  # signed in, or off to sign in
        return {"team_mode": mutations.is_team_mode()}

    def done(self, request: HttpRequest, value: Any, **kwargs: Any) -> HttpResponse:
        actors.set_active_organization(request, value.id)
        messages.success(request, f"{value.name} is ready. Invite your team.")
        return redirect("organization_members")


class SettingsPage(FormView):
    function = mutations.organization_rename
    template_name = "organizations/settings.html"
    success_message = "Saved."

    def context(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {
            "organization": call(queries.organization_get, request),
            "organizations": call(queries.organizations_of_user, request),
            "team_mode": mutations.is_team_mode(),
        }

    def initial(
        self, request: HttpRequest, page: Mapping[str, Any], **kwargs: Any
    ) -> Mapping[str, Any]:
        return {"name": page["organization"].name}


@method_decorator(step_up_first("organization.delete"), name="dispatch")
class DeletePage(FormView):
    function = mutations.organization_delete
    template_name = "organizations/delete.html"

    def context(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"organization": call(queries.organization_get, request)}

    def done(self, request: HttpRequest, value: Any, **kwargs: Any) -> HttpResponse:
        actors.set_active_organization(request, None)
        messages.success(request, "The organization and all its data were deleted.")
        return redirect("landing")


# --- members and invitations -------------------------------------------------------------------


class MembersPage(FormView):
    """The members, their roles, pending invitations, and the invitation form."""

    function = mutations.invitation_create
    template_name = "organizations/members.html"

    def context(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        actor = actors.resolve(request)
        can_see_invitations = actor.role in (Role.OWNER, Role.ADMIN)
        return {
            "organization": call(queries.organization_get, request),
            "members": call(queries.member_list, request),
            "invitations": call(queries.invitation_list, request) if can_see_invitations else [],
            "roles": [role for role in Role if role.rank <= actor.role.rank],
            "all_roles": list(Role),
            "matrix": queries.permission_matrix(),
            "team_mode": mutations.is_team_mode(),
        }

    def initial(
        self, request: HttpRequest, page: Mapping[str, Any], **kwargs: Any
    ) -> Mapping[str, Any]:
        return {"role": Role.MEMBER.value}

    def done(self, request: HttpRequest, value: Any, **kwargs: Any) -> HttpResponse:
        messages.success(request, f"Invitation sent to {value.email}.")
        return redirect("organization_members")


class MemberRole(ActionView):
    function = mutations.member_update_role
    success_message = "Role changed."
    back = "organization_members"

    def fixed_input(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"membership_id": kwargs["membership_id"]}


class MemberRemove(ActionView):
    function = mutations.member_remove
    success_message = "Member removed."
    back = "organization_members"

    def fixed_input(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"membership_id": kwargs["membership_id"]}


class Leave(ActionView):
    function = mutations.member_leave
    back = "organization_members"

    def done(self, request: HttpRequest, value: Any, **kwargs: Any) -> HttpResponse:
        actors.set_active_organization(request, None)
        messages.success(request, "You left the organization.")
        return redirect("landing")


@method_decorator(step_up_first("organization.transfer"), name="dispatch")
class TransferPage(FormView):
    function = mutations.ownership_transfer
    template_name = "organizations/transfer.html"
    success_message = "Ownership transferred. You are now an admin."
    success_url = "organization_members"

    def context(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        actor = actors.resolve(request)
        members = call(queries.member_list, request)
        return {"members": [m for m in members if m.user.id != actor.user_id]}


class InvitationRevoke(ActionView):
    function = mutations.invitation_revoke
    success_message = "Invitation revoked."
    back = "organization_members"

    def fixed_input(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"invitation_id": kwargs["invitation_id"]}


class InvitationResend(ActionView):
    function = mutations.invitation_resend
    success_message = "Invitation sent again."
    back = "organization_members"

    def fixed_input(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"invitation_id": kwargs["invitation_id"]}


# --- an invitation link --------------------------------------------------------------------------


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
    known = User.objects.filter(email__iexact=invitation.email).exists()
    return render(
        request,
        "organizations/invitation.html",
        {
            "invitation": invitation,
            "token": token,
            "next": here,
            "known": known,
            "matches": user is not None and user.email.lower() == invitation.email.lower(),
        },
    )


class InvitationAccept(ActionView):
    function = mutations.invitation_accept

    def fixed_input(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"token": kwargs["token"]}

    def back_url(self, request: HttpRequest, **kwargs: Any) -> str:
        return reverse("invitation_detail", args=[kwargs["token"]])

    def done(self, request: HttpRequest, value: Any, **kwargs: Any) -> HttpResponse:
        actors.set_active_organization(request, value.organization_id)
        organization = call(queries.organization_get, request)
        messages.success(request, f"Welcome to {organization.name}.")
        return redirect("organization_members")


class InvitationDecline(ActionView):
    function = mutations.invitation_decline
    back = "landing"

    def fixed_input(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"token": kwargs["token"]}

    def done(self, request: HttpRequest, value: Any, **kwargs: Any) -> HttpResponse:
        messages.info(request, "You declined the invitation.")
        return redirect("landing")


# --- audit log ------------------------------------------------------------------------------------


def audit(request: HttpRequest) -> HttpResponse:
    page, filters = filtered(request, queries.audit_list, empty=queries.AuditPage([], None))
    return render(
        request,
        "organizations/audit.html",
        {"page": page, "filters": filters},
        status=422 if filters.error else 200,
    )


# --- API keys -------------------------------------------------------------------------------------


@method_decorator(step_up_first("api_keys.create", unsafe_only=True), name="dispatch")
class ApiKeysPage(FormView):
    function = mutations.api_key_create
    template_name = "organizations/api_keys.html"

    def context(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        actor = actors.resolve(request)
        return {
            "keys": call(queries.api_key_list, request),
            "grantable": [(p, CATALOGUE[p].description) for p in role_permissions(actor.role)],
            "lifetimes": KeyLifetime.choices,
        }

    def initial(
        self, request: HttpRequest, page: Mapping[str, Any], **kwargs: Any
    ) -> Mapping[str, Any]:
        return {"expires_in_days": KeyLifetime.QUARTER.value}

    def done(self, request: HttpRequest, value: Any, **kwargs: Any) -> HttpResponse:
        page = self.context(request, **kwargs)
        page["created_key"] = value.secret
        return self.render(request, page, Form(self.function))


class ApiKeyRevoke(ActionView):
    function = mutations.api_key_revoke
    success_message = "Key revoked."
    back = "api_keys"

    def fixed_input(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"key_id": kwargs["key_id"]}

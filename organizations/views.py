"""Organization pages: thin transports over the registered functions. Forms work without
JavaScript; refusals show on the form with what was typed (kernel/pages.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.models import User
from kernel import actors
from kernel.actor import Actor
from kernel.door import call
from kernel.errors import not_found
from kernel.guard import has_app_permission, may_act_on
from kernel.inputs import form_input
from kernel.manifest import DOMAINS
from kernel.pages import ActionView, FormView, filtered, step_up_first
from kernel.permissions import CATALOGUE, Role, role_permissions
from organizations import export_views, exports, mutations, policies, queries
from organizations.audit_csv import audit_csv_rows
from organizations.models import Membership
from organizations.schemas import AUDIT_PAGE_MAX, KeyLifetime

# --- organizations ---------------------------------------------------------------------------


@require_POST
def switch(request: HttpRequest) -> HttpResponse:
    """Act in another of the person's organizations (session state, not a function)."""
    organization_id = request.POST.get("organization_id", "")
    if not organization_id.isdigit():
        messages.error(request, _("Choose an organization."))
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
        messages.success(request, _("%(name)s is ready. Invite your team.") % {"name": value.name})
        return redirect("organization_members")


class SettingsPage(FormView):
    function = mutations.organization_rename
    template_name = "organizations/settings.html"
    success_message = gettext_lazy("Saved.")

    def context(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        may_export = has_app_permission(actors.resolve(request), "organization.export")
        return {
            "organization": call(queries.organization_get, request),
            "organizations": call(queries.organizations_of_user, request),
            "team_mode": mutations.is_team_mode(),
            **(export_views.section(call(exports.export_list, request)) if may_export else {}),
        }

    def initial(
        self, request: HttpRequest, page: Mapping[str, Any], **kwargs: Any
    ) -> Mapping[str, Any]:
        return {"name": page["organization"].name}


class SecurityPage(FormView):
    """The owners' security policies (organizations/policies.py); everyone else reads
    them. Saving asks for a recent sign-in (step-up level 2), with what was typed kept."""

    function = policies.policies_update
    template_name = "organizations/security.html"
    success_message = gettext_lazy("Security policies saved.")

    def context(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {
            "organization": call(queries.organization_get, request),
            "policies": call(policies.policies_get, request),
            "join_roles": [role for role in Role if role != Role.OWNER],
        }

    def initial(
        self, request: HttpRequest, page: Mapping[str, Any], **kwargs: Any
    ) -> Mapping[str, Any]:
        current: policies.Policies = page["policies"]
        return current.model_dump()


@method_decorator(step_up_first("organization.delete"), name="dispatch")
class DeletePage(FormView):
    function = mutations.organization_delete
    template_name = "organizations/delete.html"

    def context(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {
            "organization": call(queries.organization_get, request),
            "grace_days": settings.ORGANIZATION_DELETION_GRACE_DAYS,
        }

    def done(self, request: HttpRequest, value: Any, **kwargs: Any) -> HttpResponse:
        # Its owners' page until the purge: the date, and the way back (restore).
        deleted = actors.resolved_actor(request)
        if deleted is None:
            return redirect("dashboard")
        messages.success(request, _("The organization is scheduled for deletion."))
        return redirect("organization_restore", organization_id=deleted.organization_id)


# --- members and invitations -------------------------------------------------------------------


def member_controls(actor: Actor, membership: Any) -> dict[str, bool]:
    """The controls the viewer may use on one member: the same checks (permission and
    the catalogue's policies on that member) the mutations run."""
    other = membership.user_id != actor.user_id
    return {
        "role": other and may_act_on(actor, "member.update_role", membership),
        "remove": other and may_act_on(actor, "member.remove", membership),
    }


def member_rows(actor: Actor, members: list[Any]) -> list[tuple[Any, dict[str, bool]]]:
    """Each shown member with its controls, checked on the membership itself (the
    policies read its role and the other owners)."""
    held = {m.id: m for m in Membership.objects.for_actor(actor)}
    return [(m, member_controls(actor, held[m.id])) for m in members if m.id in held]


class MembersPage(FormView):
    """The members, their roles, pending invitations, and the invitation form."""

    function = mutations.invitation_create
    template_name = "organizations/members.html"

    def context(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        actor = actors.resolve(request)
        can_see_invitations = actor.role in (Role.OWNER, Role.ADMIN)
        members = call(queries.member_list, request)
        owners = sum(1 for m in members if m.role == Role.OWNER)
        mine = next((m for m in members if m.user.id == actor.user_id), None)
        return {
            "organization": call(queries.organization_get, request),
            "members": members,
            # Per row, the same checks the mutations run (policies on that member).
            "rows": member_rows(actor, members),
            "invitation_ttl_days": settings.INVITATION_TTL_DAYS,
            "now": timezone.now(),  # the door's output has expires_at, not is_expired
            "can_leave": mine is not None
            and not (mine.role == Role.OWNER and owners < 2),  # as member_leave refuses
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
        messages.success(request, _("Invitation sent to %(email)s.") % {"email": value.email})
        return redirect("organization_members")


class MemberRole(ActionView):
    function = mutations.member_update_role
    success_message = gettext_lazy("Role changed.")
    back = "organization_members"

    def fixed_input(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"membership_id": kwargs["membership_id"]}


def _member_of(request: HttpRequest, membership_id: int) -> Any:
    """A member of the viewer's organization, or not_found (never another's)."""
    for membership in call(queries.member_list, request):
        if membership.id == membership_id:
            return membership
    raise not_found()


class MemberRemove(ActionView):
    function = mutations.member_remove
    success_message = gettext_lazy("Member removed.")
    back = "organization_members"
    confirm = gettext_lazy(
        "{name} will lose access to {organization} immediately. Their API keys stop working."
    )
    confirm_button = gettext_lazy("Remove member")

    def confirm_context(self, request: HttpRequest, **kwargs: Any) -> Mapping[str, Any]:
        member = _member_of(request, kwargs["membership_id"])
        organization = call(queries.organization_get, request)
        return {"name": member.user.name, "organization": organization.name}

    def fixed_input(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"membership_id": kwargs["membership_id"]}


class Leave(ActionView):
    function = mutations.member_leave
    back = "organization_members"
    confirm = gettext_lazy(
        "You will lose access to {organization} immediately, and your API keys for it stop"
        " working. To come back you need a new invitation."
    )
    confirm_button = gettext_lazy("Leave")

    def confirm_context(self, request: HttpRequest, **kwargs: Any) -> Mapping[str, Any]:
        return {"organization": call(queries.organization_get, request).name}

    def done(self, request: HttpRequest, value: Any, **kwargs: Any) -> HttpResponse:
        actors.set_active_organization(request, None)
        messages.success(request, _("You left the organization."))
        return redirect("dashboard")


@method_decorator(step_up_first("organization.transfer"), name="dispatch")
class TransferPage(FormView):
    function = mutations.ownership_transfer
    template_name = "organizations/transfer.html"
    success_message = gettext_lazy("Ownership transferred. You are now an admin.")
    success_url = "organization_members"
    confirm = gettext_lazy(
        "The member you chose becomes the owner and you become an admin: you can no longer"
        " delete the organization, manage billing or transfer it back yourself."
    )
    confirm_button = gettext_lazy("Transfer ownership")

    def context(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        actor = actors.resolve(request)
        members = call(queries.member_list, request)
        return {"members": [m for m in members if m.user.id != actor.user_id]}


class InvitationRevoke(ActionView):
    function = mutations.invitation_revoke
    success_message = gettext_lazy("Invitation revoked.")
    back = "organization_members"
    confirm = gettext_lazy(
        "The invitation to {email} stops working. You can invite them again later."
    )
    confirm_button = gettext_lazy("Revoke invitation")

    def confirm_context(self, request: HttpRequest, **kwargs: Any) -> Mapping[str, Any]:
        for invitation in call(queries.invitation_list, request):
            if invitation.id == kwargs["invitation_id"]:
                return {"email": invitation.email}
        raise not_found()

    def fixed_input(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"invitation_id": kwargs["invitation_id"]}


class InvitationResend(ActionView):
    function = mutations.invitation_resend
    success_message = gettext_lazy("Invitation sent again.")
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
        messages.success(request, _("Welcome to %(name)s.") % {"name": organization.name})
        return redirect("organization_members")


class InvitationDecline(ActionView):
    function = mutations.invitation_decline
    back = "dashboard"

    def fixed_input(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"token": kwargs["token"]}

    def done(self, request: HttpRequest, value: Any, **kwargs: Any) -> HttpResponse:
        messages.info(request, _("You declined the invitation."))
        return redirect("dashboard")


# --- audit log ------------------------------------------------------------------------------------


def audit_actions() -> list[tuple[str, str]]:
    """The action filter's options, in words (each domain names its own actions)."""
    labels = {code: label for domain in DOMAINS for code, label in domain.audit_labels.items()}
    return sorted(((code, label.title) for code, label in labels.items()), key=lambda o: o[1])


def audit(request: HttpRequest) -> HttpResponse:
    page, filters = filtered(request, queries.audit_list, empty=queries.AuditPage([], None))
    query = request.GET.copy()
    query.pop("before", None)
    return render(
        request,
        "organizations/audit.html",
        {
            "page": page,
            "filters": filters,
            "actions": audit_actions(),
            "query": query.urlencode(),
            "filtered": any(query.values()),
        },
        status=422 if filters.error else 200,
    )


def audit_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The log as CSV, with the page's filters: every matching event, newest first,
    streamed a page at a time through the same query (its permission and tenancy)."""
    raw = form_input(queries.audit_list.input, request.GET, only_known=True)
    raw.update(limit=AUDIT_PAGE_MAX, before=None)
    first = call(queries.audit_list, request, raw)  # refused or invalid: an error page
    response = StreamingHttpResponse(
        audit_csv_rows(request, raw, first), content_type="text/csv; charset=utf-8"
    )
    day = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="audit-log-{day}.csv"'
    response["Cache-Control"] = "no-store"
    return response


# --- API keys -------------------------------------------------------------------------------------

CREATED_KEY = "organizations.created_key"


@method_decorator(step_up_first("api_keys.create", unsafe_only=True), name="dispatch")
class ApiKeysPage(FormView):
    function = mutations.api_key_create
    template_name = "organizations/api_keys.html"

    def _lists(self, request: HttpRequest) -> dict[str, Any]:
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

    def get(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        response = super().get(request, **kwargs)
        response.headers["Cache-Control"] = "no-store"  # the once-shown secret
        return response

    def context(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {**self._lists(request), "created_key": request.session.pop(CREATED_KEY, None)}

    def done(self, request: HttpRequest, value: Any, **kwargs: Any) -> HttpResponse:
        # Post/redirect/get: a refresh must not create a second key; the secret is kept
        # for exactly the next view of this page.
        request.session[CREATED_KEY] = value.secret
        return redirect("api_keys")


class ApiKeyRevoke(ActionView):
    function = mutations.api_key_revoke
    success_message = gettext_lazy("Key revoked.")
    back = "api_keys"
    confirm = gettext_lazy(
        "The key “{name}” stops working immediately for everything that uses it."
    )
    confirm_button = gettext_lazy("Revoke key")

    def confirm_context(self, request: HttpRequest, **kwargs: Any) -> Mapping[str, Any]:
        for key in call(queries.api_key_list, request):
            if key.id == kwargs["key_id"]:
                return {"name": key.name}
        raise not_found()

    def fixed_input(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        return {"key_id": kwargs["key_id"]}

"""JSON API of the organizations domain: thin transports over queries and mutations."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from accounts.models import User
from kernel import errors
from kernel.ninja import SessionUserAuth, error_responses, request_actor
from kernel.text import StorableText
from organizations import mutations, queries
from organizations.actors import ACTIVE_ORGANIZATION_SESSION_KEY, actor_in_organization
from organizations.models import Invitation, Membership, Organization
from organizations.schemas import (
    ActorContextOut,
    AuditPageOut,
    InvitationIn,
    InvitationOut,
    MemberOut,
    MemberRoleIn,
    MyOrganizationOut,
    OrganizationDeleteIn,
    OrganizationIn,
    OrganizationOut,
    TokenIn,
    TransferIn,
)

router = Router()
user_auth = [SessionUserAuth()]  # signed in, in no particular organization


def _user(request: HttpRequest) -> User:
    if not isinstance(request.user, User):
        raise errors.unauthenticated()
    return request.user


@router.get(
    "/me",
    response=ActorContextOut,
    tags=["organizations"],
    summary="The caller: user, active organization, role and permissions",
    openapi_extra=error_responses(401, 429),
)
def me(request: HttpRequest) -> queries.ActorContext:
    return queries.actor_context_get(actor=request_actor(request))


# --- organizations -------------------------------------------------------------------------


@router.get(
    "/organizations",
    auth=user_auth,
    response=list[MyOrganizationOut],
    tags=["organizations"],
    summary="Organizations the caller belongs to",
    openapi_extra=error_responses(401),
)
def organization_list(request: HttpRequest) -> list[queries.MyOrganization]:
    return queries.organizations_of_user(_user(request))


@router.post(
    "/organizations",
    auth=user_auth,
    response={201: OrganizationOut},
    tags=["organizations"],
    summary="Create an organization (team mode)",
    openapi_extra=error_responses(401, 403, 422),
)
def organization_create(request: HttpRequest, payload: OrganizationIn) -> Status[Organization]:
    organization = mutations.organization_create(user=_user(request), name=payload.name)
    return Status(201, organization)


@router.get(
    "/organizations/{int:organization_id}",
    auth=user_auth,
    response=OrganizationOut,
    tags=["organizations"],
    openapi_extra=error_responses(401, 404),
)
def organization_get(request: HttpRequest, organization_id: int) -> Organization:
    return queries.organization_get(actor=actor_in_organization(request.user, organization_id))


@router.patch(
    "/organizations/{int:organization_id}",
    auth=user_auth,
    response=OrganizationOut,
    tags=["organizations"],
    summary="Rename",
    openapi_extra=error_responses(401, 403, 404, 422),
)
def organization_rename(
    request: HttpRequest, organization_id: int, payload: OrganizationIn
) -> Organization:
    actor = actor_in_organization(request.user, organization_id)
    return mutations.organization_rename(actor=actor, name=payload.name)


@router.delete(
    "/organizations/{int:organization_id}",
    auth=user_auth,
    response={204: None},
    tags=["organizations"],
    summary="Delete, with all its data (owners; step-up level 4; the name typed)",
    openapi_extra=error_responses(401, 403, 404, 422),
)
def organization_delete(
    request: HttpRequest, organization_id: int, payload: OrganizationDeleteIn
) -> Status[None]:
    actor = actor_in_organization(request.user, organization_id)
    mutations.organization_delete(actor=actor, request=request, confirm_name=payload.confirm_name)
    if request.session.get(ACTIVE_ORGANIZATION_SESSION_KEY) == organization_id:
        del request.session[ACTIVE_ORGANIZATION_SESSION_KEY]
    return Status(204, None)


@router.post(
    "/organizations/{int:organization_id}/transfer",
    auth=user_auth,
    response=MemberOut,
    tags=["organizations"],
    summary="Transfer ownership (owners; step-up level 3)",
    openapi_extra=error_responses(401, 403, 404, 409),
)
def ownership_transfer(
    request: HttpRequest, organization_id: int, payload: TransferIn
) -> Membership:
    actor = actor_in_organization(request.user, organization_id)
    return mutations.ownership_transfer(
        actor=actor, request=request, membership_id=payload.membership_id
    )


# --- members of the active organization ----------------------------------------------------


@router.get(
    "/members",
    response=list[MemberOut],
    tags=["members"],
    openapi_extra=error_responses(401, 403, 429),
)
def member_list(request: HttpRequest) -> list[Membership]:
    return queries.member_list(actor=request_actor(request))


@router.patch(
    "/members/{int:membership_id}",
    response=MemberOut,
    tags=["members"],
    summary="Change a member's role",
    openapi_extra=error_responses(401, 403, 404, 409, 422, 429),
)
def member_update_role(
    request: HttpRequest, membership_id: int, payload: MemberRoleIn
) -> Membership:
    return mutations.member_update_role(
        actor=request_actor(request), membership_id=membership_id, role=payload.role
    )


@router.delete(
    "/members/{int:membership_id}",
    response={204: None},
    tags=["members"],
    summary="Remove a member",
    openapi_extra=error_responses(401, 403, 404, 409, 429),
)
def member_remove(request: HttpRequest, membership_id: int) -> Status[None]:
    mutations.member_remove(actor=request_actor(request), membership_id=membership_id)
    return Status(204, None)


@router.post(
    "/members/leave",
    response={204: None},
    tags=["members"],
    summary="Leave the active organization",
    openapi_extra=error_responses(401, 403, 409, 429),
)
def member_leave(request: HttpRequest) -> Status[None]:
    mutations.member_leave(actor=request_actor(request))
    request.session.pop(ACTIVE_ORGANIZATION_SESSION_KEY, None)
    return Status(204, None)


# --- invitations ------------------------------------------------------------------------------


@router.get(
    "/invitations",
    response=list[InvitationOut],
    tags=["invitations"],
    summary="Pending invitations",
    openapi_extra=error_responses(401, 403, 429),
)
def invitation_list(request: HttpRequest) -> list[Invitation]:
    return list(queries.invitation_list(actor=request_actor(request)))


@router.post(
    "/invitations",
    response={201: InvitationOut},
    tags=["invitations"],
    summary="Invite someone by email",
    openapi_extra=error_responses(401, 402, 403, 409, 422, 429),
)
def invitation_create(request: HttpRequest, payload: InvitationIn) -> Status[Invitation]:
    invitation, _token = mutations.invitation_create(
        actor=request_actor(request), request=request, email=payload.email, role=payload.role
    )
    return Status(201, invitation)


@router.post(
    "/invitations/{int:invitation_id}/resend",
    response=InvitationOut,
    tags=["invitations"],
    openapi_extra=error_responses(401, 403, 404, 409, 429),
)
def invitation_resend(request: HttpRequest, invitation_id: int) -> Invitation:
    invitation, _token = mutations.invitation_resend(
        actor=request_actor(request), request=request, invitation_id=invitation_id
    )
    return invitation


@router.delete(
    "/invitations/{int:invitation_id}",
    response={204: None},
    tags=["invitations"],
    summary="Revoke an invitation",
    openapi_extra=error_responses(401, 403, 404, 409, 429),
)
def invitation_revoke(request: HttpRequest, invitation_id: int) -> Status[None]:
    mutations.invitation_revoke(actor=request_actor(request), invitation_id=invitation_id)
    return Status(204, None)


@router.post(
    "/invitations/accept",
    auth=user_auth,
    response=MemberOut,
    tags=["invitations"],
    summary="Accept an invitation sent to the caller's address",
    openapi_extra=error_responses(401, 403, 409),
)
def invitation_accept(request: HttpRequest, payload: TokenIn) -> Membership:
    membership = mutations.invitation_accept(user=_user(request), token=payload.token)
    request.session[ACTIVE_ORGANIZATION_SESSION_KEY] = membership.organization_id
    return membership


@router.post(
    "/invitations/decline",
    auth=user_auth,
    response={204: None},
    tags=["invitations"],
    openapi_extra=error_responses(401, 403, 409),
)
def invitation_decline(request: HttpRequest, payload: TokenIn) -> Status[None]:
    mutations.invitation_decline(user=_user(request), token=payload.token)
    return Status(204, None)


# --- audit log ------------------------------------------------------------------------------


@router.get(
    "/audit-events",
    response=AuditPageOut,
    tags=["audit"],
    summary="The organization's audit log, newest first",
    openapi_extra=error_responses(401, 403, 422, 429),
)
def audit_list(
    request: HttpRequest,
    action: StorableText | None = None,
    result: StorableText | None = None,
    before: int | None = None,
) -> queries.AuditPage:
    return queries.audit_list(
        actor=request_actor(request), action=action, result=result, before=before
    )

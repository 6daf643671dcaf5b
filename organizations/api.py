"""The organizations domain's JSON API: every operation is a registered function
(kernel/api.py builds it; the door runs it)."""

from __future__ import annotations

from ninja import Router

from kernel.api import route
from organizations import exports, mutations, policies, queries

router = Router()

route(
    router,
    "GET /me",
    queries.actor_context_get,
    tags=["organizations"],
    summary="The caller: user, active organization, role and permissions",
)

# Organizations: a person's own (session only), or one by id, as a member of it (a
# session) or with its API key.
route(
    router,
    "GET /organizations",
    queries.organizations_of_user,
    tags=["organizations"],
    summary="Organizations the signed-in person belongs to",
)
route(
    router,
    "POST /organizations",
    mutations.organization_create,
    status=201,
    tags=["organizations"],
    summary="Create an organization (team mode)",
)
ORGANIZATION = "/organizations/{int:organization_id}"
route(
    router,
    f"GET {ORGANIZATION}/policies",
    policies.policies_get,
    organization_param="organization_id",
    tags=["organizations"],
    summary="The security policies",
)
route(
    router,
    f"PUT {ORGANIZATION}/policies",
    policies.policies_update,
    organization_param="organization_id",
    tags=["organizations"],
    summary="Set the security policies (owners, a recent sign-in; never an API key)",
)
route(
    router,
    f"GET {ORGANIZATION}",
    queries.organization_get,
    organization_param="organization_id",
    tags=["organizations"],
)
route(
    router,
    f"PATCH {ORGANIZATION}",
    mutations.organization_rename,
    organization_param="organization_id",
    tags=["organizations"],
    summary="Rename",
)
route(
    router,
    f"DELETE {ORGANIZATION}",
    mutations.organization_delete,
    status=204,
    organization_param="organization_id",
    tags=["organizations"],
    summary="Delete, with all its data (owners; step-up level 4; the name typed)",
)
route(
    router,
    f"POST {ORGANIZATION}/transfer",
    mutations.ownership_transfer,
    organization_param="organization_id",
    tags=["organizations"],
    summary="Transfer ownership (owners; step-up level 3)",
)

# Members and invitations of the active organization (or the API key's).
route(router, "GET /members", queries.member_list, tags=["members"])
route(
    router,
    "PATCH /members/{int:membership_id}",
    mutations.member_update_role,
    tags=["members"],
    summary="Change a member's role",
)
route(
    router,
    "DELETE /members/{int:membership_id}",
    mutations.member_remove,
    status=204,
    tags=["members"],
    summary="Remove a member",
)
route(
    router,
    "POST /members/leave",
    mutations.member_leave,
    status=204,
    tags=["members"],
    summary="Leave the active organization",
)

route(
    router,
    "GET /invitations",
    queries.invitation_list,
    tags=["invitations"],
    summary="Pending invitations",
)
route(
    router,
    "POST /invitations",
    mutations.invitation_create,
    status=201,
    errors=(402,),
    tags=["invitations"],
    summary="Invite someone by email",
)
route(
    router,
    "POST /invitations/{int:invitation_id}/resend",
    mutations.invitation_resend,
    tags=["invitations"],
)
route(
    router,
    "DELETE /invitations/{int:invitation_id}",
    mutations.invitation_revoke,
    status=204,
    tags=["invitations"],
    summary="Revoke an invitation",
)
route(
    router,
    "POST /invitations/accept",
    mutations.invitation_accept,
    tags=["invitations"],
    summary="Accept an invitation sent to the signed-in person's address",
)
route(
    router,
    "POST /invitations/decline",
    mutations.invitation_decline,
    status=204,
    tags=["invitations"],
)

route(
    router,
    "GET /audit-events",
    queries.audit_list,
    tags=["audit"],
    summary="The organization's audit log, newest first",
)

route(
    router,
    "POST /exports",
    exports.export_request,
    status=202,
    tags=["exports"],
    summary="Export the organization's data: the requester gets an email with a link",
)
route(
    router,
    "GET /exports",
    exports.export_list,
    tags=["exports"],
    summary="The organization's recent data exports, newest first",
)

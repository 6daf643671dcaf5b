"""What the organizations app brings to the kernel (kernel/manifest.py)."""

from datetime import timedelta

from django.conf import settings
from django.utils.translation import gettext_lazy

from kernel.actor import Actor
from kernel.limits import UNLIMITED, Limit
from kernel.manifest import FUNCTION_MODULES, Domain, Nav, Step
from kernel.notifications import NotificationKind
from kernel.permissions import EVERYONE, MANAGERS, OWNERS, Permission
from kernel.policies import actor_outranks_target, keep_last_owner
from kernel.sensitive import SensitiveAction
from kernel.tasks import Periodic
from organizations.audit import AUDIT_LABELS, OrganizationAuditLog
from organizations.directory import MembershipDirectory
from organizations.export_tables import EXPORT
from organizations.export_tasks import prune_exports
from organizations.models import Invitation
from organizations.queries import members_of, seats_used
from organizations.tasks import purge_due_organizations


def teammate_invited(actor: Actor) -> bool:
    """Someone else is a member, or was invited (whatever became of the invitation)."""
    return (
        len(members_of(actor.organization_id)) > 1
        or Invitation.objects.for_organization(actor.organization_id).exists()
    )


domain = Domain(
    "organizations",
    permissions=[
        Permission("organization.read", "See the organization", EVERYONE),
        Permission("organization.update", "Rename the organization", MANAGERS),
        Permission("organization.delete", "Delete the organization and its data", OWNERS),
        Permission("organization.transfer", "Transfer ownership", OWNERS),
        Permission("organization.policies", "Set the security policies", OWNERS),
        Permission("member.read", "See members and their roles", EVERYONE),
        Permission("member.invite", "Invite people", MANAGERS, capability="members.invite"),
        Permission(
            "member.update_role",
            "Change a member's role",
            MANAGERS,
            policies=(actor_outranks_target, keep_last_owner),
        ),
        Permission(
            "member.remove",
            "Remove a member",
            MANAGERS,
            policies=(actor_outranks_target, keep_last_owner),
        ),
        Permission("invitation.read", "See pending invitations", MANAGERS),
        Permission("invitation.cancel", "Revoke an invitation", MANAGERS),
        Permission("audit.read", "Read the audit log", MANAGERS),
        Permission("api_keys.manage", "Create and revoke API keys", MANAGERS),
        Permission("organization.export", "Export the organization's data", MANAGERS),
    ],
    sensitive_actions=[
        SensitiveAction("api_keys.create", 2, "create an API key", organization_scoped=True),
        SensitiveAction(
            "organization.policies", 2, "change the security policies", organization_scoped=True
        ),
        SensitiveAction("organization.transfer", 3, "transfer ownership", organization_scoped=True),
        SensitiveAction(
            "organization.delete", 4, "delete the organization", organization_scoped=True
        ),
        # Personal: nobody can act in an organization scheduled for deletion.
        SensitiveAction("organization.restore", 2, "restore the organization"),
    ],
    limits=[
        Limit(
            "organization.members",
            "seats (members and pending invitations)",
            free=5,
            raised_by={"feature.pro": 10, "feature.team": UNLIMITED},
            count=seats_used,
        )
    ],
    urls=[
        ("organization/", "organizations.urls"),
        ("invitations/", "organizations.invitation_urls"),
        ("exports/", "organizations.export_urls"),
    ],
    api="organizations.api",
    nav=[
        Nav("Members", "organization_members", permission="member.read", order=20),
        Nav("Audit log", "organization_audit", permission="audit.read", order=30),
    ],
    onboarding=[
        Step(
            "Invite a teammate",
            "organization_members",
            done=teammate_invited,
            permission="member.invite",
            applies=lambda: settings.ORGANIZATIONS_MODE == "team",
            order=20,
        )
    ],
    audit_labels=AUDIT_LABELS,
    directory=MembershipDirectory(),
    audit_log=OrganizationAuditLog(),
    # Beside mutations.py: each capability's functions in a module named for it.
    function_modules=(*FUNCTION_MODULES, "suspension", "deletion", "policies", "exports"),
    exports=EXPORT,
    notifications=[
        NotificationKind(
            "invitation.received",
            category="organization",
            text=gettext_lazy(
                "{inviter} invited you to join {organization} as {role}. Accept it from "
                "the invitation email sent to {email}."
            ),
        ),
        NotificationKind(
            "member.role_changed",
            category="organization",
            text=gettext_lazy("Your role in {organization} is now {role}."),
        ),
        NotificationKind(
            "member.removed",
            category="organization",
            text=gettext_lazy("You were removed from {organization}."),
        ),
        NotificationKind(
            "export.ready",
            category="data",
            text=gettext_lazy("The data export of {organization} is ready to download."),
        ),
        NotificationKind(
            "export.account_ready",
            category="data",
            text=gettext_lazy("The export of your account's data is ready to download."),
        ),
    ],
    periodic=[
        Periodic(purge_due_organizations, every=timedelta(hours=1)),
        Periodic(prune_exports, every=timedelta(hours=1)),
    ],
)

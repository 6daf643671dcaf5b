from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from kernel.admin import (
    ReadOnlyAdminMixin,
    ScopedModelAdmin,
    TenantModelAdmin,
    TenantTabularInline,
    operator,
)
from kernel.door import call
from kernel.errors import AppError
from kernel.permissions import Role
from organizations.models import AuditEvent, Invitation, Membership, Organization
from organizations.mutations import membership_remove_by_operator, membership_save_by_operator
from organizations.operators import (
    OperatorActions,
    PlanFilter,
    attach_plans,
    short_date,
    with_activity,
)


class MembershipInline(TenantTabularInline):
    """Read-only here: memberships change on their own admin page, through the audited
    internal mutations that keep the last owner."""

    model = Membership
    extra = 0
    fields = ("user", "role", "created_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class InvitationInline(TenantTabularInline):
    model = Invitation
    extra = 0
    fields = ("email", "role", "created_at", "expires_at", "accepted_at", "revoked_at")
    readonly_fields = fields
    can_delete = False


@admin.register(Organization)
class OrganizationAdmin(OperatorActions, ScopedModelAdmin):
    """The operators' list of organizations: status, plan, members, last activity, and
    the audited actions (organizations/operators.py). A status changes only through
    those actions, never by editing the row."""

    list_display = (
        "name",
        "status",
        "plan",
        "member_count",
        "created",
        "last_activity",
    )
    list_filter = ("status", PlanFilter)
    search_fields = ("name", "slug", "memberships__user__email")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (MembershipInline, InvitationInline)
    readonly_fields = (
        "status",
        "status_reason",
        "status_changed_at",
        "deletion_due_at",
        "audit_log",
        "billing",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organization]:
        return with_activity(super().get_queryset(request))

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", None) or {}
        if "cl" in changelist:
            attach_plans(changelist["cl"].result_list)  # one query for the page's rows
        return response

    def organization_of(self, request: HttpRequest, object_id: str | None) -> int:
        return int(object_id) if object_id and object_id.isdigit() else 0  # the one shown

    @admin.display(description="Plan")
    def plan(self, organization: Organization) -> str:
        return getattr(organization, "plan_name", "")

    @admin.display(description="Members", ordering="member_count")
    def member_count(self, organization: Organization) -> int:
        return int(getattr(organization, "member_count", 0))

    @admin.display(description="Created", ordering="created_at")
    def created(self, organization: Organization) -> str:
        return short_date(organization.created_at)

    @admin.display(description="Last activity", ordering="last_activity")
    def last_activity(self, organization: Organization) -> str:
        return short_date(getattr(organization, "last_activity", None))

    @admin.display(description="Audit log")
    def audit_log(self, organization: Organization) -> str:
        url = reverse("admin:organizations_auditevent_changelist")
        return format_html(
            '<a href="{}?organization__id__exact={}">Audit events</a>', url, organization.pk
        )

    @admin.display(description="Billing")
    def billing(self, organization: Organization) -> str:
        return format_html(
            '<a href="{}?organization__id__exact={}">Subscriptions</a> · '
            '<a href="{}?organization__id__exact={}">Grants</a> · '
            '<a href="{}?organization_id={}">Webhook events</a>',
            reverse("admin:billing_plansubscription_changelist"),
            organization.pk,
            reverse("admin:billing_grant_changelist"),
            organization.pk,
            reverse("admin:billing_webhookevent_changelist"),
            organization.pk,
        )


class MembershipForm(forms.ModelForm[Membership]):
    class Meta:
        model = Membership
        fields = ("user", "organization", "role")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        instance = self.instance
        demoting = instance.pk and instance.role == Role.OWNER and cleaned.get("role") != Role.OWNER
        moving = instance.pk and (
            cleaned.get("organization") != instance.organization
            or cleaned.get("user") != instance.user
        )
        if moving:
            raise forms.ValidationError("A membership cannot move: remove it and add a new one.")
        if demoting and not instance.has_other_owners():
            raise forms.ValidationError(
                "This is the organization's last owner. Make someone else an owner first."
            )
        return cleaned


@admin.register(Membership)
class MembershipAdmin(TenantModelAdmin):
    """Every change goes through the internal mutations: the last owner stays, and the
    audit log names the operator."""

    form = MembershipForm
    saves_through_mutations = True
    list_display = ("user", "organization", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__email", "organization__name", "organization__slug")
    autocomplete_fields = ("user", "organization")

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        saved = call(
            membership_save_by_operator,
            operator(request),
            {
                "membership_id": obj.pk,
                "organization_id": obj.organization_id,
                "user_id": obj.user_id,
                "role": obj.role,
            },
        )
        obj.pk = saved.id

    def has_delete_permission(self, request: HttpRequest, obj: Membership | None = None) -> bool:
        if obj is not None and obj.role == Role.OWNER and not obj.has_other_owners():
            return False  # the last owner stays
        return super().has_delete_permission(request, obj)

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        call(membership_remove_by_operator, operator(request), {"membership_id": obj.pk})

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        for membership in queryset:
            try:
                self.delete_model(request, membership)
            except AppError as error:
                messages.error(request, f"{membership}: {error.message}")


@admin.register(Invitation)
class InvitationAdmin(TenantModelAdmin):
    list_display = ("email", "organization", "role", "created_at", "expires_at", "accepted_at")
    list_filter = ("role",)
    search_fields = ("email", "organization__name", "organization__slug")
    readonly_fields = ("token_hash",)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    """Read-only: the log is append-only, for operators too."""

    list_display = ("created_at", "organization", "actor_label", "action", "target", "result")
    list_filter = ("result", "action")
    search_fields = ("organization__name", "organization__slug", "actor_label", "target")
    date_hierarchy = "created_at"

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from kernel.admin import ReadOnlyAdminMixin, TenantModelAdmin, TenantTabularInline
from kernel.tenancy import tenant_scope
from organizations.models import AuditEvent, Invitation, Membership, Organization


class MembershipInline(TenantTabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


class InvitationInline(TenantTabularInline):
    model = Invitation
    extra = 0
    fields = ("email", "role", "created_at", "expires_at", "accepted_at", "revoked_at")
    readonly_fields = fields
    can_delete = False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin[Organization]):
    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug", "memberships__user__email")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (MembershipInline, InvitationInline)
    readonly_fields = ("audit_log", "billing")

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The inlines' formsets query their tenant tables through the default manager
        (for the hidden primary-key field), which fails closed without a scope: scope the
        page to the organization shown (a new one has no rows yet: none match 0)."""
        organization_id = int(object_id) if object_id and object_id.isdigit() else 0
        with tenant_scope(organization_id):
            response = super().changeform_view(request, object_id, form_url, extra_context)
            if isinstance(response, TemplateResponse):
                response.render()  # inside the scope: the template reads the formsets
            return response

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


@admin.register(Membership)
class MembershipAdmin(TenantModelAdmin):
    list_display = ("user", "organization", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__email", "organization__name", "organization__slug")
    autocomplete_fields = ("user", "organization")


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

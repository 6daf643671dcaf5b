"""Operators: subscriptions, purchases, local receipts and webhook events per
organization (payload, status, reprocess), and manual grants — created and revoked
through audited mutations."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.html import format_html
from django.utils.text import Truncator

from billing import mutations
from billing.models import (
    DONE_STATUSES,
    BillingCustomer,
    Grant,
    PendingCancellation,
    PlanSubscription,
    Purchase,
    Receipt,
    WebhookEvent,
)
from billing.plans import paid_plans
from billing.tasks import process_event
from kernel.admin import ReadOnlyAdminMixin, TenantModelAdmin, operator
from kernel.door import call
from kernel.errors import AppError
from organizations.models import Organization

ERROR_SUMMARY_LENGTH = 80


@admin.register(PlanSubscription)
class PlanSubscriptionAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = (
        "organization",
        "plan",
        "status",
        "provider",
        "external_id",
        "current_period_end",
        "cancel_at_period_end",
        "seats",
    )
    list_filter = ("status", "plan", "provider")
    search_fields = ("external_id", "organization__name", "organization__slug")


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    """One-time purchases; a row with a refund and no plan is a refund waiting for its
    purchase (docs/billing.md, "Events in any order")."""

    list_display = ("organization", "plan", "provider", "external_id", "paid_at", "refunded_at")
    list_filter = ("provider", "plan")
    search_fields = ("external_id", "organization__name", "organization__slug")


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ("organization", "number", "amount", "currency", "issued_at", "refunded_at")
    search_fields = ("reference", "organization__name")


@admin.register(BillingCustomer)
class BillingCustomerAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ("organization", "provider", "external_id", "created_at")
    search_fields = ("external_id", "organization__name")


@admin.register(PendingCancellation)
class PendingCancellationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[PendingCancellation]):
    """Deleted organizations' subscriptions their provider has not confirmed cancelled:
    retried by a task, then by `billing_reconcile` (docs/billing.md)."""

    list_display = ("created_at", "provider", "external_id", "organization_id", "attempts")
    list_filter = ("provider",)
    search_fields = ("external_id",)
    readonly_fields = ("last_error", "last_attempt_at")


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[WebhookEvent]):
    list_display = (
        "received_at",
        "provider",
        "type",
        "status",
        "organization_id",
        "attempts",
        "error_summary",
    )
    list_filter = ("status", "provider", "type")
    search_fields = ("event_id", "type", "error")
    readonly_fields = ("payload_pretty",)
    fields = (
        "provider",
        "event_id",
        "type",
        "status",
        "organization_id",
        "occurred_at",
        "received_at",
        "processed_at",
        "attempts",
        "error",
        "payload_pretty",
    )
    actions = ["reprocess"]

    @admin.display(description="Payload")
    def payload_pretty(self, event: WebhookEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.payload, indent=2, sort_keys=True))

    @admin.display(description="Error")
    def error_summary(self, event: WebhookEvent) -> str:
        return Truncator(event.error).chars(ERROR_SUMMARY_LENGTH)

    def has_reprocess_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("billing.change_webhookevent")

    @admin.action(
        description="Reprocess the selected events (failed or received)",
        permissions=["reprocess"],
    )
    def reprocess(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        """Queue each event's processing again, recorded in its history with the
        operator's name; an event applied already stays as it is."""
        events = list(queryset.exclude(status__in=DONE_STATUSES))
        with transaction.atomic():
            for event in events:
                process_event.enqueue(event.pk)
                self.log_change(request, event, "Queued for reprocessing.")
        skipped = queryset.count() - len(events)
        messages.info(
            request,
            f"Queued {len(events)} event(s) for reprocessing"
            + (f"; {skipped} already applied or ignored." if skipped else "."),
        )


class ManualGrantForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=Organization.objects.order_by("name"))
    plan = forms.ChoiceField(choices=[(p.code, p.name) for p in paid_plans()])
    expires_at = forms.DateTimeField(required=False, help_text="Empty: never expires.")
    note = forms.CharField(max_length=200, help_text="Why (recorded in the audit log).")


@admin.register(Grant)
class GrantAdmin(TenantModelAdmin):
    list_display = (
        "organization",
        "capability",
        "plan",
        "source",
        "source_type",
        "expires_at",
        "revoked_at",
    )
    list_filter = ("source_type", "plan", "capability")
    search_fields = ("source", "organization__name", "organization__slug")
    actions = ["revoke"]
    change_list_template = "admin/billing/grant/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # manual grants: the "Grant a plan" page below, audited

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.grant_plan_view)
        return [path("grant-plan/", view, name="billing_grant_plan"), *super().get_urls()]

    def grant_plan_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("billing.add_grant"):
            return HttpResponse(status=403)
        form = ManualGrantForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                call(
                    mutations.manual_grant_create,
                    operator(request),
                    {
                        "organization_id": form.cleaned_data["organization"].pk,
                        "plan_code": form.cleaned_data["plan"],
                        "expires_at": form.cleaned_data["expires_at"],
                        "note": form.cleaned_data["note"],
                    },
                )
            except AppError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, "Granted.")
                return redirect("admin:billing_grant_changelist")
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": "Grant a plan manually",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/billing/grant/grant_plan.html", context)

    @admin.action(description="Revoke the selected grants (audited)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Grant]) -> None:
        if not request.user.has_perm("billing.change_grant"):
            messages.error(request, "You may not revoke grants.")
            return
        principal = operator(request)
        count = sum(  # one call (one transaction, one audit row) per grant
            call(mutations.grant_revoke, principal, {"grant_id": pk})
            for pk in queryset.values_list("pk", flat=True)
        )
        messages.success(request, f"Revoked {count} grant(s).")

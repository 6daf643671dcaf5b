"""The operators' admin of organizations (organizations/admin.py uses these): what the
list shows beside each organization, the plan filter, and the actions — suspend,
reactivate, restore, purge, view as an owner — each asking a reason on its own page and
running an audited internal mutation, so the audit log names the operator and the why.

Restore and purge belong to the deletion capability (`organizations.restore_by_operator`,
`organizations.purge_by_operator`, organizations/deletion.py) and viewing as an owner to
impersonation (the `impersonation_start` page): they are found by name, and an action
whose other half is not installed says so instead of failing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Greatest
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.formats import date_format
from django.utils.timezone import localtime

from kernel.actor import System
from kernel.admin import operator
from kernel.door import call
from kernel.errors import AppError
from kernel.functions import FUNCTIONS, Function
from kernel.permissions import Role
from kernel.sources import sources
from organizations.models import ApiKey, AuditEvent, Membership, Organization
from organizations.suspension import (
    REASON_MAX,
    REASON_MIN,
    organization_reactivate,
    organization_suspend,
)

RESTORE: Final = "organizations.restore_by_operator"
PURGE: Final = "organizations.purge_by_operator"
REASON_TEMPLATE: Final = "admin/organizations/organization/reason.html"

# --- the list ------------------------------------------------------------------------------


def _latest(queryset: QuerySet[Any], field: str) -> Subquery:
    return Subquery(
        queryset.filter(organization=OuterRef("pk")).order_by(f"-{field}").values(field)[:1]
    )


def with_activity(organizations: QuerySet[Organization]) -> QuerySet[Organization]:
    """Each organization with its member count and its last activity — the latest of its
    audit log, a member choosing it and an API key's use — computed by the database in
    the list's one query (operators span organizations: unscoped on purpose)."""
    return organizations.annotate(
        member_count=Count("memberships", distinct=True),
        last_activity=Greatest(
            _latest(AuditEvent.objects.unscoped(), "created_at"),
            _latest(Membership.objects.unscoped().exclude(last_used_at=None), "last_used_at"),
            _latest(ApiKey.objects.unscoped().exclude(last_used_at=None), "last_used_at"),
        ),  # PostgreSQL's GREATEST skips NULLs: None only if nothing ever happened
    )


def short_date(moment: datetime | None) -> str:
    """A list cell's date and time, narrow enough for a table beside the filters."""
    return "—" if moment is None else date_format(localtime(moment), "j M Y, H:i")


def plans_of(organization_ids: Iterable[int]) -> dict[int, str]:
    """Each organization's plan name, from the registered entitlement source (billing),
    in one query for any number."""
    found = sources().entitlement_source().entitlements(list(organization_ids))
    return {organization: entitlement.plan for organization, entitlement in found.items()}


def attach_plans(organizations: Iterable[Organization]) -> None:
    rows = list(organizations)
    plans = plans_of(row.pk for row in rows)
    for row in rows:
        row.plan_name = plans.get(row.pk, "")  # type: ignore[attr-defined]  # for the column


class PlanFilter(admin.SimpleListFilter):
    """By plan, as the entitlement source names them: the base plan (what an organization
    that bought nothing has), then the plans on sale."""

    title = "plan"
    parameter_name = "plan"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        source = sources().entitlement_source()
        base = source.entitlements([0])[0].plan  # no organization 0: nothing bought
        names = dict.fromkeys([base, *(offer.name for offer in source.offers())])
        return [(name, name) for name in names]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        chosen = self.value()
        if not chosen:
            return queryset
        plans = plans_of(queryset.values_list("pk", flat=True))
        return queryset.filter(pk__in=[pk for pk, plan in plans.items() if plan == chosen])


# --- the actions ---------------------------------------------------------------------------


class ReasonForm(forms.Form):
    reason = forms.CharField(
        min_length=REASON_MIN,
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Recorded in each organization's audit log with your name.",
    )


def operator_of(request: HttpRequest) -> System:
    """The staff member as the principal of the internal mutations: named in the label,
    and recorded as the audit row's operator."""
    return replace(operator(request), operator_id=request.user.pk)


class OperatorActions:
    """ModelAdmin mixin: the operators' actions on organizations."""

    actions: Sequence[Any] | None = ["suspend", "reactivate", "restore", "purge", "view_as_owner"]

    # Status changes go through the actions only: never the row's own delete.
    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_status_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("organizations.change_organization"))

    def has_purge_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("organizations.delete_organization"))

    def has_impersonate_permission(self, request: HttpRequest) -> bool:
        return bool(getattr(request.user, "is_superuser", False))

    @admin.action(description="Suspend the selected organizations…", permissions=["status"])
    def suspend(
        self, request: HttpRequest, queryset: QuerySet[Organization]
    ) -> HttpResponse | None:
        return self._with_reason(
            request, queryset, organization_suspend, "suspend", "Suspend", "Suspended"
        )

    @admin.action(description="Reactivate the selected organizations…", permissions=["status"])
    def reactivate(
        self, request: HttpRequest, queryset: QuerySet[Organization]
    ) -> HttpResponse | None:
        return self._with_reason(
            request, queryset, organization_reactivate, "reactivate", "Reactivate", "Reactivated"
        )

    @admin.action(description="Restore the selected organizations…", permissions=["status"])
    def restore(
        self, request: HttpRequest, queryset: QuerySet[Organization]
    ) -> HttpResponse | None:
        return self._with_reason(
            request, queryset, FUNCTIONS.get(RESTORE), "restore", "Restore", "Restored"
        )

    @admin.action(description="Purge the selected organizations now…", permissions=["purge"])
    def purge(self, request: HttpRequest, queryset: QuerySet[Organization]) -> HttpResponse | None:
        return self._with_reason(
            request, queryset, FUNCTIONS.get(PURGE), "purge", "Purge", "Purged"
        )

    @admin.action(description="View as an owner…", permissions=["impersonate"])
    def view_as_owner(
        self, request: HttpRequest, queryset: QuerySet[Organization]
    ) -> HttpResponse | None:
        """The impersonation page for the organization's longest-standing owner, with the
        reason given here (that page asks the step-up and records the start)."""
        if queryset.count() != 1:
            messages.error(request, "Choose exactly one organization to view as its owner.")
            return None
        organization = queryset.get()
        try:
            start = reverse("impersonation_start")
        except NoReverseMatch:
            messages.error(request, "Viewing as an owner is not available here yet.")
            return None
        owner = (
            Membership.objects.for_organization(organization.pk)
            .filter(role=Role.OWNER)
            .order_by("created_at", "pk")
            .first()
        )
        if owner is None:
            messages.error(request, f"{organization.name} has no owner to view as.")
            return None
        form = ReasonForm(request.POST if "post" in request.POST else None)
        if form.is_valid():
            query = urlencode({"user": owner.user_id, "reason": form.cleaned_data["reason"]})
            return HttpResponseRedirect(f"{start}?{query}")
        return self._reason_page(request, queryset, form, "View as an owner", "view_as_owner")

    def _with_reason(
        self,
        request: HttpRequest,
        queryset: QuerySet[Organization],
        function: Function | None,
        action: str,
        verb: str,
        done: str,
    ) -> HttpResponse | None:
        """The reason page; once a valid reason is posted, the function for each chosen
        organization (each in its own transaction: one refusal stops no other)."""
        if function is None:
            messages.error(request, f"{verb} is not available: its function is not installed.")
            return None
        form = ReasonForm(request.POST if "post" in request.POST else None)
        if not form.is_valid():
            return self._reason_page(request, queryset, form, verb, action)
        principal, reason = operator_of(request), form.cleaned_data["reason"]
        changed = []
        for organization in queryset.order_by("name"):
            try:
                call(function, principal, {"organization_id": organization.pk, "reason": reason})
            except AppError as error:
                messages.error(request, f"{organization.name}: {error.message}")
            else:
                changed.append(organization.name)
        if changed:
            messages.success(request, f"{done}: {', '.join(changed)}.")
        return None

    def _reason_page(
        self,
        request: HttpRequest,
        queryset: QuerySet[Organization],
        form: ReasonForm,
        verb: str,
        action: str,
    ) -> TemplateResponse:
        admin_site = self.admin_site  # type: ignore[attr-defined]  # the ModelAdmin's
        context = {
            **admin_site.each_context(request),
            "title": f"{verb}: why?",
            "verb": verb,
            "action": action,
            "form": form,
            "organizations": queryset.order_by("name"),
            "opts": Organization._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, REASON_TEMPLATE, context)

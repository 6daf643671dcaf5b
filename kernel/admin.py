"""Admin bases for tenant models: operators see every organization, on purpose."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.tasks import TaskResultStatus
from django.template.response import TemplateResponse
from django.utils import timezone
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

from kernel.actor import System
from kernel.tenancy import TenantModel, tenant_scope

logger = logging.getLogger("kernel.tasks")


def operator(request: HttpRequest) -> System:
    """The staff member using the admin, as the principal of internal functions they run
    (the audit log names them)."""
    return System(
        f"operator {getattr(request.user, 'email', request.user)}", operator_id=request.user.pk
    )


class ScopedModelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # generic over many models
    """An admin whose change form runs inside one organization's tenant scope: the form's
    and inlines' own queries (unique constraints, related choices, the formsets' hidden
    primary keys) go through the default manager, which fails closed without a scope."""

    saves_through_mutations = False
    """True when save_model/delete_model call mutations: they run their own SERIALIZABLE
    transaction, so the admin's own atomic block around the form must not wrap them."""

    def organization_of(self, request: HttpRequest, object_id: str | None) -> int:
        """The organization the page shows (0 for none: no tenant row matches it)."""
        raise NotImplementedError

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        response: HttpResponse
        with tenant_scope(self.organization_of(request, object_id)):
            if self.saves_through_mutations:
                # Django's own body of the view, without its atomic block (not in the stubs)
                response = self._changeform_view(request, object_id, form_url, extra_context)  # type: ignore[attr-defined]
            else:
                response = super().changeform_view(request, object_id, form_url, extra_context)
            if isinstance(response, TemplateResponse):
                response.render()  # inside the scope: the template reads the form
            return response

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if self.saves_through_mutations:
            found: HttpResponse = self._delete_view(request, object_id, extra_context)  # type: ignore[attr-defined]
            return found
        return super().delete_view(request, object_id, extra_context)


class TenantModelAdmin(ScopedModelAdmin):
    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        model: type[TenantModel] = self.model
        return model.objects.unscoped()  # operators only: the admin spans organizations

    def organization_of(self, request: HttpRequest, object_id: str | None) -> int:
        model: type[TenantModel] = self.model
        if object_id and object_id.isdigit():
            found = model.objects.unscoped().filter(pk=object_id).values_list("organization_id")
            return int(found[0][0]) if found else 0
        posted = request.POST.get("organization", "")
        return int(posted) if posted.isdigit() else 0  # a new row: the organization chosen


class TenantTabularInline(admin.TabularInline):  # type: ignore[type-arg]
    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        model: type[TenantModel] = self.model
        return model.objects.unscoped()  # the inline's formset filters by its parent


class ReadOnlyAdminMixin:
    """For append-only logs: operators may look, never add, change or delete."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


# --- the task queue ---------------------------------------------------------------------


class TaskAdmin(DBTaskResultAdmin):
    """django-tasks-db's read-only list of tasks, with what an operator asks first: how
    many attempts, the last error, when the next attempt is due; and "Run again now"."""

    list_display = (
        "task_name",
        "status",
        "attempts",
        "last_error",
        "enqueued_at",
        "display_run_after",
        "finished_at",
        "queue_name",
    )
    actions = ["run_again"]

    @admin.display(description="attempts")
    def attempts(self, row: DBTaskResult[Any, Any]) -> int:
        return len(row.worker_ids)

    @admin.display(description="last error")
    def last_error(self, row: DBTaskResult[Any, Any]) -> str:
        lines = row.traceback.strip().splitlines()
        return lines[-1][:200] if lines else "—"

    @admin.action(description="Run again now (failed or waiting tasks)")
    def run_again(self, request: HttpRequest, rows: QuerySet[DBTaskResult[Any, Any]]) -> None:
        # A failed-for-good task gets its attempts back; a running one is left alone.
        again = rows.filter(status__in=[TaskResultStatus.FAILED, TaskResultStatus.READY])
        count = again.update(status=TaskResultStatus.READY, run_after=timezone.now(), worker_ids=[])
        logger.warning("%s put %d task(s) back in the queue", operator(request).label, count)
        self.message_user(request, f"{count} task(s) queued to run again.")


admin.site.unregister(DBTaskResult)
admin.site.register(DBTaskResult, TaskAdmin)

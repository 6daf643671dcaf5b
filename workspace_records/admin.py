from django.contrib import admin

from kernel.admin import TenantModelAdmin
from workspace_records.models import WorkspaceRecord


@admin.register(WorkspaceRecord)
class WorkspaceRecordAdmin(TenantModelAdmin):
    list_display = ("title", "organization", "status", "created_at")
    list_filter = ("status", "organization")
    search_fields = ("title", "organization__name", "organization__slug")
    autocomplete_fields = ("organization", "created_by")

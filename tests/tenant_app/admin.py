from django.contrib import admin

from kernel.admin import TenantModelAdmin
from tests.tenant_app.models import Note


@admin.register(Note)
class NoteAdmin(TenantModelAdmin):
    list_display = ("title", "organization")
    fields = ("organization", "title", "body")

from django.contrib import admin

from kernel.admin import TenantModelAdmin
from ${app}.models import ${model}


@admin.register(${model})
class ${model}Admin(TenantModelAdmin):
    list_display = ("name", "organization", "created_at")
    search_fields = ("name", "organization__name", "organization__slug")
    autocomplete_fields = ("organization", "created_by")

"""Admin bases for tenant models: operators see every organization, on purpose."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from kernel.actor import System
from kernel.tenancy import TenantModel


def operator(request: HttpRequest) -> System:
    """The staff member using the admin, as the principal of internal functions they run
    (the audit log names them)."""
    return System(f"operator {getattr(request.user, 'email', request.user)}")


class TenantModelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # generic over many models
    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        model: type[TenantModel] = self.model
        return model.objects.unscoped()  # operators only: the admin spans organizations


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

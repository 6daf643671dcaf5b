from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import SecurityEvent, User
from kernel.admin import ReadOnlyAdminMixin


@admin.register(User)
class UserAdmin(DjangoUserAdmin[User]):
    ordering = ("email",)
    list_display = ("email", "display_name", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active")
    search_fields = ("email", "display_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("display_name", "avatar", "time_zone", "language")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    # The photo is checked by the profile's mutation only: the admin shows it, never takes one.
    readonly_fields = ("last_login", "date_joined", "avatar")


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[SecurityEvent]):
    """Read-only: the log is append-only, for operators too."""

    list_display = ("created_at", "user_email", "kind", "result", "ip_address")
    list_filter = ("result", "kind")
    search_fields = ("user_email", "kind", "ip_address")
    date_hierarchy = "created_at"

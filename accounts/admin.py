from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from accounts.models import ImpersonationSession, SecurityEvent, User
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
        ("Support", {"fields": ("view_as",)}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    # The photo is checked by the profile's mutation only: the admin shows it, never takes one.
    readonly_fields = ("last_login", "date_joined", "avatar", "view_as")
    actions = ("view_as_action",)

    @admin.display(description="View as")
    def view_as(self, user: User) -> str:
        """The start page asks the reason and the step-up (accounts/impersonation.py)."""
        if user.pk is None or user.is_staff or user.is_superuser:
            return "Not available for operators."
        return format_html(
            '<a class="button" href="{}">View the site as this person</a>', view_as_url(user)
        )

    @admin.action(description="View the site as the selected person")
    def view_as_action(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one person to view as.", messages.WARNING)
            return None
        return HttpResponseRedirect(view_as_url(queryset.get()))


def view_as_url(user: User) -> str:
    return f"{reverse('impersonation_start')}?{urlencode({'user': user.pk})}"


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[SecurityEvent]):
    """Read-only: the log is append-only, for operators too."""

    list_display = ("created_at", "user_email", "kind", "result", "ip_address")
    list_filter = ("result", "kind")
    search_fields = ("user_email", "kind", "ip_address")
    date_hierarchy = "created_at"


@admin.register(ImpersonationSession)
class ImpersonationSessionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[ImpersonationSession]):
    """Who viewed as whom, why and how long: a record, never edited."""

    list_display = ("started_at", "operator_email", "user", "ended_at", "end_reason", "reason")
    list_filter = ("end_reason",)
    search_fields = ("operator_email", "user__email", "reason")
    date_hierarchy = "started_at"

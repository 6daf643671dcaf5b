from django.urls import path

from organizations import deletion_views, views

urlpatterns = [
    path("", views.MembersPage.as_view(), name="organization_members"),
    path("new/", views.CreatePage.as_view(), name="organization_create"),
    path("switch/", views.switch, name="organization_switch"),
    path("settings/", views.SettingsPage.as_view(), name="organization_settings"),
    path("security/", views.SecurityPage.as_view(), name="organization_security"),
    path("delete/", views.DeletePage.as_view(), name="organization_delete"),
    path(
        "<int:organization_id>/restore/",
        deletion_views.RestorePage.as_view(),
        name="organization_restore",
    ),
    path("transfer/", views.TransferPage.as_view(), name="organization_transfer"),
    path("leave/", views.Leave.as_view(), name="organization_leave"),
    path("audit/", views.audit, name="organization_audit"),
    path("audit/audit-log.csv", views.audit_csv, name="organization_audit_csv"),
    path("api-keys/", views.ApiKeysPage.as_view(), name="api_keys"),
    path("api-keys/<int:key_id>/revoke/", views.ApiKeyRevoke.as_view(), name="api_key_revoke"),
    path("members/<int:membership_id>/role/", views.MemberRole.as_view(), name="member_role"),
    path("members/<int:membership_id>/remove/", views.MemberRemove.as_view(), name="member_remove"),
    path(
        "invitations/<int:invitation_id>/revoke/",
        views.InvitationRevoke.as_view(),
        name="invitation_revoke",
    ),
    path(
        "invitations/<int:invitation_id>/resend/",
        views.InvitationResend.as_view(),
        name="invitation_resend",
    ),
]

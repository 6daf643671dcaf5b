from django.urls import path

from organizations import views

urlpatterns = [
    path("", views.members, name="organization_members"),
    path("new/", views.create, name="organization_create"),
    path("switch/", views.switch, name="organization_switch"),
    path("settings/", views.settings_page, name="organization_settings"),
    path("delete/", views.delete, name="organization_delete"),
    path("transfer/", views.transfer, name="organization_transfer"),
    path("leave/", views.leave, name="organization_leave"),
    path("audit/", views.audit, name="organization_audit"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<int:key_id>/revoke/", views.api_key_revoke_view, name="api_key_revoke"),
    path("members/<int:membership_id>/role/", views.member_role, name="member_role"),
    path("members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
    path("invitations/", views.invite, name="invitation_create"),
    path(
        "invitations/<int:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"
    ),
    path(
        "invitations/<int:invitation_id>/resend/", views.invitation_resend, name="invitation_resend"
    ),
]

invitation_urlpatterns = [
    path("<str:token>/", views.invitation_detail, name="invitation_detail"),
]

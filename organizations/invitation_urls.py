"""An invitation's link: /invitations/<token>/ (mounted by the manifest)."""

from django.urls import path

from organizations import views

urlpatterns = [
    path("<str:token>/", views.invitation_detail, name="invitation_detail"),
    path("<str:token>/accept/", views.InvitationAccept.as_view(), name="invitation_accept"),
    path("<str:token>/decline/", views.InvitationDecline.as_view(), name="invitation_decline"),
]

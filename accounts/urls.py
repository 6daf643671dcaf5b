from django.urls import path

from accounts import impersonation_views, notification_views, views

urlpatterns = [
    path("", views.account_overview, name="account_overview"),
    path("profile/", views.ProfilePage.as_view(), name="account_profile"),
    path("step-up/done/", views.step_up_done, name="account_step_up_done"),
    path("step-up/<str:action>/", views.step_up, name="account_step_up"),
    path("delete/", views.DeletePage.as_view(), name="account_delete"),
    path("view-as/", impersonation_views.start_page, name="impersonation_start"),
    path("notifications/", notification_views.notification_list, name="notification_list"),
    path(
        "notifications/<int:notification_id>/read/",
        notification_views.NotificationRead.as_view(),
        name="notification_read",
    ),
    path(
        "notifications/read-all/",
        notification_views.NotificationReadAll.as_view(),
        name="notification_read_all",
    ),
    path(
        "notifications/preferences/",
        notification_views.PreferencesPage.as_view(),
        name="notification_preferences",
    ),
    path(
        "notifications/unsubscribe/<str:token>/",
        notification_views.unsubscribe,
        name="notification_unsubscribe",
    ),
    path("view-as/stop/", impersonation_views.stop, name="impersonation_stop"),
]

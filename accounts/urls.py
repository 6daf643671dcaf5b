from django.urls import path

from accounts import impersonation_views, views

urlpatterns = [
    path("", views.account_overview, name="account_overview"),
    path("profile/", views.ProfilePage.as_view(), name="account_profile"),
    path("language/", views.language_set, name="language_set"),  # the footer's switcher
    path("step-up/done/", views.step_up_done, name="account_step_up_done"),
    path("step-up/<str:action>/", views.step_up, name="account_step_up"),
    path("delete/", views.DeletePage.as_view(), name="account_delete"),
    path("view-as/", impersonation_views.start_page, name="impersonation_start"),
    path("view-as/stop/", impersonation_views.stop, name="impersonation_stop"),
]

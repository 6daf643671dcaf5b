from django.urls import path

from workspace_records import views

urlpatterns = [
    path("", views.record_list, name="record_list"),
    path("<int:record_id>/", views.record_detail, name="record_detail"),
    path("<int:record_id>/delete/", views.record_delete, name="record_delete"),
    path("<int:record_id>/status/", views.record_status, name="record_status"),
]

from django.urls import path

from workspace_records import views

urlpatterns = [
    path("", views.RecordList.as_view(), name="record_list"),
    path("<int:record_id>/", views.RecordDetail.as_view(), name="record_detail"),
    path("<int:record_id>/delete/", views.RecordDelete.as_view(), name="record_delete"),
]

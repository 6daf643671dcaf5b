from django.urls import path

from organizations import export_views

urlpatterns = [
    path("request/", export_views.ExportRequest.as_view(), name="export_request"),
    path("account/", export_views.AccountExportPage.as_view(), name="account_export"),
    path(
        "account/request/",
        export_views.AccountExportRequest.as_view(),
        name="account_export_request",
    ),
    path("download/<str:token>/", export_views.download, name="export_download"),
]

from django.urls import path

from bench.workspace_records.baseline import records_raw

urlpatterns = [path("bench/records-raw/<int:organization_id>", records_raw)]

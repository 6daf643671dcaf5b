from importlib.util import find_spec

from django.urls import URLPattern, path

from bench.workspace_records.baseline import records_raw

urlpatterns: list[URLPattern] = [path("bench/records-raw/<int:organization_id>", records_raw)]
if find_spec("rest_framework") is not None:  # the DRF peer (bench/peers/requirements.txt)
    from bench.workspace_records.drf_peer import RecordViewSet

    urlpatterns.append(
        path("bench/peers/records", RecordViewSet.as_view({"get": "list", "post": "create"}))
    )

"""The peers' routes, when their dependencies are installed (bench/peers/requirements.txt)."""

from importlib.util import find_spec

from django.urls import URLPattern, path

urlpatterns: list[URLPattern] = []
if find_spec("rest_framework") is not None:
    from bench.peers.records import RecordViewSet

    urlpatterns = [
        path("bench/peers/records", RecordViewSet.as_view({"get": "list", "post": "create"})),
    ]

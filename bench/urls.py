"""The project's URLs plus the benchmarks' bare endpoints (BENCHMARK_ENDPOINTS=true): each
benchmark package under bench/ may bring a `urls` module; the live hub's run counter is
the kernel's."""

import json
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path

from config.urls import handler400, handler403, handler404, handler500  # noqa: F401
from config.urls import urlpatterns as project_urlpatterns


async def live_executions(request: HttpRequest) -> HttpResponse:
    """How many live-query runs this server process has made."""
    from kernel.live.hub import hub

    return HttpResponse(json.dumps({"executions": hub().executions}))


def _benchmark_urls() -> list[URLPattern | URLResolver]:
    found: list[URLPattern | URLResolver] = []
    for package in sorted(Path(__file__).parent.iterdir()):
        name = f"bench.{package.name}.urls"
        if package.is_dir() and find_spec(f"bench.{package.name}") and find_spec(name):
            found.extend(import_module(name).urlpatterns)
    return found


urlpatterns = [
    path("bench/live-executions", live_executions),
    *_benchmark_urls(),
    *project_urlpatterns,
]

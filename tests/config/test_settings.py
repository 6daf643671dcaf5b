"""Settings from the environment: production refuses to start half-configured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core import checks
from django.test import Client

from billing.checks import check_billing_providers
from config.checks import check_environment
from config.email import default_mailer_from_url
from config.env import Env

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x7#k2!pQ9vZ$mR4tW8yB1nL6cF3hJ0sD5gA-eU_oI+qX&wE*rT@uY%iO^pS",
    "ALLOWED_HOSTS": "app.example.com",
    "EMAIL_URL": "smtp://mailer:secret@smtp.example.com:587",
}


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_secret_key():
    result = run_manage("check", DEBUG="false", ALLOWED_HOSTS="app.example.com")
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = run_manage("check", DEBUG="false", SECRET_KEY=PRODUCTION_ENV["SECRET_KEY"])
    assert result.returncode != 0
    assert "ALLOWED_HOSTS is not set" in result.stderr


def test_check_deploy_is_clean_in_production_mode():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_a_malformed_variable_is_a_check_error_naming_it():
    result = run_manage("check", DATABASE_POOL_MAX_SIZE="lots", **PRODUCTION_ENV)
    assert result.returncode != 0
    assert "DATABASE_POOL_MAX_SIZE='lots' is not a whole number" in result.stderr
    assert "config.E001" in result.stderr


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"SECURE_HSTS_SECONDS": "-5"}, "SECURE_HSTS_SECONDS"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
    ],
)
def test_env_records_problems_instead_of_crashing(environ, variable, settings):
    env = Env(environ)
    env.boolean("DEBUG", default=False)
    env.integer("SECURE_HSTS_SECONDS", 0)
    env.choice("LOG_LEVEL", ("info", "debug"), "info")
    settings.CONFIG_PROBLEMS = env.problems

    errors = check_environment()

    assert [error.obj for error in errors] == [variable]
    assert errors[0].level == checks.ERROR
    assert errors[0].hint


def test_a_half_configured_provider_is_a_check_error(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_123"
    settings.STRIPE_WEBHOOK_SECRET = ""
    errors = check_billing_providers()
    assert [error.id for error in errors] == ["billing.E001"]
    assert "STRIPE_WEBHOOK_SECRET" in errors[0].msg

    settings.STRIPE_WEBHOOK_SECRET = "whsec_123"
    assert check_billing_providers() == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("", {"BACKEND": "django.core.mail.backends.console.EmailBackend"}),
        (
            "smtp://mailer%40example.com:p%40ss@smtp.example.com:2525",
            {
                "host": "smtp.example.com",
                "port": 2525,
                "username": "mailer@example.com",
                "password": "p@ss",
                "use_tls": True,
                "use_ssl": False,
            },
        ),
        ("smtps://u:p@smtp.example.com", {"port": 465, "use_ssl": True, "use_tls": False}),
        ("smtp://relay.local?tls=false", {"port": 587, "use_tls": False}),
    ],
)
def test_email_url(url, expected):
    mailer = default_mailer_from_url(Env({"EMAIL_URL": url}))
    options = mailer.get("OPTIONS", mailer)
    assert {key: options[key] for key in expected} == expected


def test_a_malformed_email_url_is_reported():
    env = Env({"EMAIL_URL": "smpt//oops"})
    assert default_mailer_from_url(env)["BACKEND"].endswith("console.EmailBackend")
    assert [problem.variable for problem in env.problems] == ["EMAIL_URL"]


def test_the_database_uses_a_connection_pool():
    assert settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"] >= 1
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def test_pages_carry_csp_and_security_headers(client: Client, db):
    response = client.get("/")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "object-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"

"""EMAIL_URL → Django's MAILERS setting (the "default" mailer).

    (unset)                                  development: printed decoded, kept for /dev/mail/
                                             production: console backend
    smtp://user:password@host:587            SMTP with STARTTLS (the default for smtp://)
    smtp://host:25?tls=false                 SMTP without TLS, e.g. a local relay
    smtps://user:password@host:465           SMTP over implicit TLS
    console:// | locmem://                   console output | kept in memory

User name and password may be percent-encoded (e.g. %40 for @).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from config.env import FALSE_WORDS, Env

SIMPLE_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


DEVELOPMENT_BACKEND = "config.dev_mail.DevelopmentEmailBackend"


def default_mailer_from_url(env: Env, *, development: bool = False) -> dict[str, Any]:
    url = env.string("EMAIL_URL")
    if not url:
        return {"BACKEND": DEVELOPMENT_BACKEND if development else SIMPLE_BACKENDS["console"]}
    parts = urlsplit(url)
    if parts.scheme in SIMPLE_BACKENDS:
        return {"BACKEND": SIMPLE_BACKENDS[parts.scheme]}
    try:
        port = parts.port
    except ValueError:
        port = None
        parts = parts._replace(netloc="")
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        env.problem(
            "EMAIL_URL",
            "EMAIL_URL is not a usable SMTP URL.",
            "Use smtp://USER:PASSWORD@HOST:587 (STARTTLS), smtps://USER:PASSWORD@HOST:465 "
            "(implicit TLS), or unset EMAIL_URL for the console backend.",
        )
        return {"BACKEND": SIMPLE_BACKENDS["console"]}
    implicit_tls = parts.scheme == "smtps"
    tls_values = parse_qs(parts.query).get("tls", ["true"])
    starttls = not implicit_tls and tls_values[-1].lower() not in FALSE_WORDS
    return {
        "BACKEND": SMTP_BACKEND,
        "OPTIONS": {
            "host": parts.hostname,
            "port": port or (465 if implicit_tls else 587),
            "username": unquote(parts.username or ""),
            "password": unquote(parts.password or ""),
            "use_ssl": implicit_tls,
            "use_tls": starttls,
            "timeout": 10,
        },
    }

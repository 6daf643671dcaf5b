"""The one settings module, configured from environment variables.

Production mode is the default: DEBUG is off unless DEBUG=true, and then SECRET_KEY and
ALLOWED_HOSTS must be set. The `make` targets set DEBUG=true for local work. Malformed
variables do not crash start-up; they are reported by `manage.py check` (config/checks.py).
See README.md for the list of variables.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from django.utils.csp import CSP

from config.email import default_mailer_from_url
from config.env import Env
from config.logging import FORMATS, logging_settings

# Lets admin and other generic Django classes be subscripted at runtime (Admin[Model]).
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
env = Env()

DATA_DIR = Path(env.string("DATA_DIR") or BASE_DIR / ".data")
DEBUG = env.boolean("DEBUG", default=False)
PRODUCTION = not DEBUG


def _development_secret_key() -> str:
    """A random key generated once per checkout and kept in the data folder."""
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


if PRODUCTION:
    SECRET_KEY = env.required(
        "SECRET_KEY",
        "Production mode (DEBUG off) needs a long random SECRET_KEY; "
        "set DEBUG=true for local development.",
    )
    ALLOWED_HOSTS = env.strings("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        env.required(
            "ALLOWED_HOSTS",
            "Production mode needs the site's host names, "
            "comma-separated (e.g. ALLOWED_HOSTS=app.example.com).",
        )
else:
    SECRET_KEY = env.string("SECRET_KEY") or _development_secret_key()
    ALLOWED_HOSTS = env.strings("ALLOWED_HOSTS", ("localhost", "127.0.0.1", "[::1]", "testserver"))

CSRF_TRUSTED_ORIGINS = env.strings("CSRF_TRUSTED_ORIGINS")
# Absolute links in emails sent outside a request (e.g. from the API of a background job).
SITE_URL = env.string("SITE_URL", "http://localhost:8000").rstrip("/")
# The product's name: page titles, emails ("Welcome to …"), the admin header, TOTP apps.
SITE_NAME = env.string("SITE_NAME", "SaaS Starter")

INSTALLED_APPS = [
    "daphne",  # first, so that runserver serves ASGI (HTTP + WebSocket)
    # Before django.contrib.auth: its createsuperuser command adds the admin's next steps.
    "accounts",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "django.contrib.staticfiles",
    "channels",
    "ninja",
    "allauth",
    "accounts.apps.EmailAddressesConfig",  # allauth.account, named "Email addresses"
    "allauth.mfa",
    "allauth.usersessions",
    "django_tasks_db",  # the task queue's table and admin (kernel/tasks.py)
    "config",
    "kernel",
    "organizations",
    "billing",
    "workspace_records",  # workspace-demo
    *env.strings("EXTRA_INSTALLED_APPS"),  # tests add their test-only tenant app
]

MIDDLEWARE = [
    "config.middleware.RequestMiddleware",  # request id, the request's log line, metrics
    "kernel.middleware.ErrorMiddleware",  # every failure is rendered by it
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # Accept-Language; accounts' adds the profile's
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.TimeZoneMiddleware",
    "accounts.middleware.LanguageMiddleware",  # the profile's language beats Accept-Language
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "accounts.middleware.AdminAccessMiddleware",
    "accounts.impersonation.ImpersonationMiddleware",  # expiry; account changes refused
]

if PRODUCTION:
    # Serves collected static files with far-future cache headers; runserver does it in
    # development.
    MIDDLEWARE.insert(3, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "config.urls"  # bench/ swaps in its own (BENCHMARK_ENDPOINTS, below)
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

# The site's own templates/ and static/ sit at the root of a checkout; a wheel
# (`pip install .`) carries them in config/site/ (pyproject.toml, [tool.setuptools]).
SITE_FILES_DIR = BASE_DIR if (BASE_DIR / "templates").is_dir() else Path(__file__).parent / "site"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [SITE_FILES_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kernel.context_processors.shell",
                "config.context_processors.site",
                "organizations.context_processors.active_organization",
                "billing.context_processors.billing_banner_context",
                "accounts.impersonation.banner",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# PostgreSQL only. DATABASE_URL names any server; without it, in development and tests
# only, the project starts its own embedded PostgreSQL under DATA_DIR. In production a
# missing DATABASE_URL is a configuration error (the servers refuse to start, see
# config/checks.py), never a silent empty database. psycopg's pool keeps connections
# open across requests: under ASGI every request would otherwise open a new connection.
DATABASE_URL = env.string("DATABASE_URL")
EMBEDDED_DATABASE = not DATABASE_URL and DEBUG
if EMBEDDED_DATABASE:
    from config.embedded_postgres import embedded_database_url

    DATABASE_URL = embedded_database_url(DATA_DIR)
elif not DATABASE_URL:
    env.problem(
        "DATABASE_URL",
        "DATABASE_URL is not set: production mode (DEBUG off) never starts the embedded "
        "PostgreSQL.",
        "Set DATABASE_URL=postgres://USER:PASSWORD@HOST:PORT/NAME (your PostgreSQL server), "
        "or DEBUG=true for local development on the embedded server.",
    )
    # Settings still load so that `check` can say the above; a connection attempt fails
    # at once, naming the variable (a socket directory that does not exist).
    DATABASE_URL = "postgres://%2FDATABASE_URL-is-not-set/unset"

try:
    _database = dj_database_url.parse(DATABASE_URL)
except ValueError as error:
    env.problem(
        "DATABASE_URL",
        f"DATABASE_URL cannot be parsed: {error}.",
        "Use postgres://USER:PASSWORD@HOST:PORT/NAME.",
    )
    _database = dj_database_url.parse("postgres://invalid/invalid")
if _database["ENGINE"] != "django.db.backends.postgresql":
    env.problem(
        "DATABASE_URL",
        "DATABASE_URL does not point at PostgreSQL.",
        "This project runs on PostgreSQL only: use a postgres:// URL (in development, "
        "unset DATABASE_URL to use the embedded server).",
    )
_database["CONN_MAX_AGE"] = 0  # the pool, not Django, keeps connections open
_database.setdefault("OPTIONS", {})["pool"] = {
    "min_size": env.integer("DATABASE_POOL_MIN_SIZE", 2, minimum=0),
    "max_size": env.integer("DATABASE_POOL_MAX_SIZE", 10, minimum=1),
    "timeout": env.integer("DATABASE_POOL_TIMEOUT", 10, minimum=1),
}
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channels -------------------------------------------------------------------------
# In-memory in a single development process; Redis when REDIS_URL is set. The pub/sub
# layer is used because the default Redis layer silently drops messages to full channels
# and costs ~5x more per hop (measured on these machines).
REDIS_URL = env.string("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Cache ----------------------------------------------------------------------------
# Rate limits live here, so with several processes they must share Redis.
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Accounts -------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"

# django-allauth: email sign-in (no user names), verification before use, login by an
# emailed code, MFA (TOTP, recovery codes, passkeys), session list, rate limits, and no
# account enumeration. See docs/accounts.md.
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
MFA_ADAPTER = "accounts.adapter.MFAAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CHANGE_EMAIL = True  # one address; a new one replaces it once verified
ACCOUNT_EMAIL_NOTIFICATIONS = True  # "your password was changed", "a passkey was added"
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False  # this session stays; the others are signed out
ACCOUNT_SESSION_REMEMBER = None  # ask ("Remember me")
ACCOUNT_EMAIL_SUBJECT_PREFIX = env.string("EMAIL_SUBJECT_PREFIX", f"[{SITE_NAME}]") + " "
ACCOUNT_RATE_LIMITS = {
    # allauth's defaults, spelled out because they are part of the product's contract.
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/300s/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "request_login_code": "20/m/ip,3/m/key",
    "reauthenticate": "10/m/user",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = SITE_NAME
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG  # http://localhost in development
# allauth refuses new addresses on accounts with two-factor, lest someone sign up with an
# address they do not own and lock its owner out with MFA. Verification is mandatory
# here (nobody signs in unverified) and a changed address replaces the old one only once
# verified, so that cannot happen: people with two-factor can change their email.
MFA_ALLOW_UNVERIFIED_EMAIL = True
USERSESSIONS_TRACK_ACTIVITY = True

# Step-up (sensitive actions, see accounts/stepup.py): how recent a sign-in counts as a
# fresh session, and how long a re-authentication grant lasts.
STEP_UP_FRESH_SESSION_SECONDS = env.integer("STEP_UP_FRESH_SESSION_SECONDS", 10 * 60, minimum=60)
STEP_UP_GRANT_SECONDS = env.integer("STEP_UP_GRANT_SECONDS", 5 * 60, minimum=30)
STEP_UP_CODE_SECONDS = env.integer("STEP_UP_CODE_SECONDS", 5 * 60, minimum=60)
ACCOUNT_REAUTHENTICATION_TIMEOUT = STEP_UP_GRANT_SECONDS

# Impersonation (accounts/impersonation.py): how long an operator may view as a person
# before the next request ends it.
IMPERSONATION_MINUTES = env.integer("IMPERSONATION_MINUTES", 30, minimum=1)

# Social sign-in: each provider is on when both of its variables are set, and absent
# (no button, no URL) otherwise.
SOCIAL_PROVIDER_SETTINGS = {
    "google": ("GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET"),
    "microsoft": ("MICROSOFT_CLIENT_ID", "MICROSOFT_CLIENT_SECRET"),
}
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, object]] = {}
for _provider, (_id_var, _secret_var) in SOCIAL_PROVIDER_SETTINGS.items():
    _client_id, _secret = env.string(_id_var), env.string(_secret_var)
    if _client_id and _secret:
        SOCIALACCOUNT_PROVIDERS[_provider] = {
            "APPS": [{"client_id": _client_id, "secret": _secret}],
            "SCOPE": ["openid", "email", "profile"] if _provider == "google" else ["User.Read"],
        }
        if _provider == "microsoft":
            SOCIALACCOUNT_PROVIDERS[_provider]["TENANT"] = env.string("MICROSOFT_TENANT", "common")
    elif _client_id or _secret:
        env.problem(
            _secret_var if _client_id else _id_var,
            f"{_provider.title()} sign-in is half-configured.",
            f"Set both {_id_var} and {_secret_var}, or neither to turn it off.",
        )
if SOCIALACCOUNT_PROVIDERS:
    INSTALLED_APPS += [
        "allauth.socialaccount",
        *(f"allauth.socialaccount.providers.{name}" for name in SOCIALACCOUNT_PROVIDERS),
    ]
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # never link accounts by an unverified claim

# Organizations: "team" (create several, invite, manage members) or "personal" (one
# organization per user; invitations and member management are refused).
ORGANIZATIONS_MODE = env.choice("ORGANIZATIONS_MODE", ("team", "personal"), "team")
INVITATION_TTL_DAYS = env.integer("INVITATION_TTL_DAYS", 7, minimum=1)
INVITATION_RESENDS_PER_HOUR = env.integer("INVITATION_RESENDS_PER_HOUR", 20, minimum=1)
API_KEY_RATE_LIMIT_PER_MINUTE = env.integer("API_KEY_RATE_LIMIT_PER_MINUTE", 600, minimum=1)
# Soft deletion (organizations/deletion.py): a deleted organization waits this many days
# in `pending_deletion` (its owners may restore it) before the purge task deletes it,
# ORGANIZATION_PURGE_BATCH_SIZE tenant rows per transaction.
ORGANIZATION_DELETION_GRACE_DAYS = env.integer("ORGANIZATION_DELETION_GRACE_DAYS", 30, minimum=0)
ORGANIZATION_PURGE_BATCH_SIZE = env.integer("ORGANIZATION_PURGE_BATCH_SIZE", 1000, minimum=1)
# Mounts the benchmarks' bare baseline endpoints (bench/urls.py wraps config.urls,
# so nothing in the project imports bench/). Benchmarks only: they answer without
# authentication, so production refuses them, except on a server that answers loopback
# host names only (the benchmarks' production-like servers, bench/harness.py).
BENCHMARK_ENDPOINTS = env.boolean("BENCHMARK_ENDPOINTS", default=False)
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "testserver"})
if BENCHMARK_ENDPOINTS and PRODUCTION and not set(ALLOWED_HOSTS) <= LOOPBACK_HOSTS:
    env.problem(
        "BENCHMARK_ENDPOINTS",
        "BENCHMARK_ENDPOINTS=true mounts unauthenticated benchmark endpoints; production "
        "mode refuses them.",
        "Unset BENCHMARK_ENDPOINTS (benchmarks run their own server on loopback hosts only).",
    )
    BENCHMARK_ENDPOINTS = False
if BENCHMARK_ENDPOINTS:
    ROOT_URLCONF = "bench.urls"

# How app processes learn of committed changes (kernel/change_capture.py): "notify"
# (LISTEN/NOTIFY: lowest latency; NOTIFY's commit lock caps concurrent writes) or "poll"
# (each process reads kernel_change every LIVE_POLL_MS; no lock). Run `migrate` after
# changing it: the triggers are reinstalled to match. Every process must agree.
LIVE_CHANGES = env.choice("LIVE_CHANGES", ("notify", "poll"), "notify")
LIVE_POLL_MS = env.integer("LIVE_POLL_MS", 50, minimum=5)
# API keys, memberships and plans kept between requests until the change capture says
# they changed (kernel/principal_cache.py): one listening connection per process.
PRINCIPAL_CACHE = env.boolean("PRINCIPAL_CACHE", default=True)

# --- Tasks ----------------------------------------------------------------------------
# Side effects (email, provider calls, pruning) are Django tasks stored in PostgreSQL by
# django-tasks-db and run by `manage.py worker` (kernel/tasks.py, docs/operations.md).
# Enqueued inside the transaction of the change that needs them: commit <=> enqueued.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# How long an idle worker sleeps before looking again, and how often it checks for tasks
# left running by a worker that died (their lock is free: kernel/worker.py).
TASK_WORKER_INTERVAL_MS = env.integer("TASK_WORKER_INTERVAL_MS", 1000, minimum=50)
TASK_RECOVER_SECONDS = env.integer("TASK_RECOVER_SECONDS", 30, minimum=1)

# --- Retention ------------------------------------------------------------------------
# What `manage.py prune` and the worker's periodic prune delete, in batches of
# PRUNE_BATCH_SIZE rows (kernel/prune.py, billing/prune.py, docs/operations.md).
PRUNE_BATCH_SIZE = env.integer("PRUNE_BATCH_SIZE", 1000, minimum=1)
# Change records whose transaction ended this long ago: far beyond what a poller needs.
CHANGE_RETENTION_MINUTES = env.integer("CHANGE_RETENTION_MINUTES", 60, minimum=5)
# How long an idempotency key replays its first result (the API's Idempotency-Key).
IDEMPOTENCY_TTL_HOURS = env.integer("IDEMPOTENCY_TTL_HOURS", 24, minimum=1)
# Provider events applied (or ignored) this long ago; longer than any provider's retries
# (Stripe's: 3 days), so a late redelivery is still recognised as a duplicate.
WEBHOOK_EVENT_RETENTION_DAYS = env.integer("WEBHOOK_EVENT_RETENTION_DAYS", 90, minimum=7)
# Events that failed and were never reprocessed, from their arrival.
WEBHOOK_FAILED_EVENT_RETENTION_DAYS = env.integer(
    "WEBHOOK_FAILED_EVENT_RETENTION_DAYS", 365, minimum=7
)
# Finished tasks: successful ones, and those failed for good (kept for their error).
TASK_RESULT_RETENTION_DAYS = env.integer("TASK_RESULT_RETENTION_DAYS", 14, minimum=1)
TASK_FAILED_RETENTION_DAYS = env.integer("TASK_FAILED_RETENTION_DAYS", 90, minimum=1)
# Notifications read this many days ago (unread ones stay until read).
NOTIFICATION_RETENTION_DAYS = env.integer("NOTIFICATION_RETENTION_DAYS", 90, minimum=1)
# How often the worker compares every subscription with its provider (billing/reconcile.py).
BILLING_RECONCILE_HOURS = env.integer("BILLING_RECONCILE_HOURS", 6, minimum=1)
# The audit log (organizations/prune.py): events older than this many days are pruned;
# 0 keeps them for ever (docs/audit-log.md).
AUDIT_RETENTION_DAYS = env.integer("AUDIT_RETENTION_DAYS", 365, minimum=0)

# --- Email ----------------------------------------------------------------------------
# Console by default; EMAIL_URL=smtp://user:password@host:587 (or smtps://…) for SMTP.
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "SaaS Starter <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SUPPORT_EMAIL = env.string("SUPPORT_EMAIL", "support@localhost")
"""Whom members of a suspended organization are told to contact."""
# In development (no EMAIL_URL) each email is printed decoded and kept under DEV_MAIL_DIR,
# readable at /dev/mail/ (config/dev_mail.py).
DEV_MAIL_DIR = Path(env.string("DEV_MAIL_DIR") or DATA_DIR / "dev-mail")
MAILERS = {"default": default_mailer_from_url(env, development=DEBUG)}

# --- Billing providers ----------------------------------------------------------------
# Each provider is on when its keys are set; billing/checks.py reports a half-configured one.
STRIPE_SECRET_KEY = env.string("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env.string("STRIPE_WEBHOOK_SECRET")
POLAR_ACCESS_TOKEN = env.string("POLAR_ACCESS_TOKEN")
POLAR_WEBHOOK_SECRET = env.string("POLAR_WEBHOOK_SECRET")
POLAR_SERVER = env.choice("POLAR_SERVER", ("production", "sandbox"), "production")
LEMONSQUEEZY_API_KEY = env.string("LEMONSQUEEZY_API_KEY")
LEMONSQUEEZY_STORE_ID = env.string("LEMONSQUEEZY_STORE_ID")
LEMONSQUEEZY_WEBHOOK_SECRET = env.string("LEMONSQUEEZY_WEBHOOK_SECRET")
# Lemon Squeezy signs no timestamp: an event whose object changed longer ago than this is
# refused as stale (a replay). Below WEBHOOK_EVENT_RETENTION_DAYS, so a repeat of any event
# accepted is still recognised as a duplicate (docs/billing.md).
LEMONSQUEEZY_WEBHOOK_MAX_AGE_HOURS = env.integer(
    "LEMONSQUEEZY_WEBHOOK_MAX_AGE_HOURS", 72, minimum=1
)
# Price ids (Stripe), product ids (Polar) and variant ids (Lemon Squeezy) per paid plan:
# billing/plans.py names them, e.g. STRIPE_PRICE_PRO_MONTHLY, LEMONSQUEEZY_VARIANT_TEAM_MONTHLY.
BILLING_PRICE_IDS = {
    name: env.string(name)
    for plan in ("PRO_MONTHLY", "PRO_YEARLY", "PRO_LIFETIME", "TEAM_MONTHLY")
    for name in (f"STRIPE_PRICE_{plan}", f"POLAR_PRODUCT_{plan}", f"LEMONSQUEEZY_VARIANT_{plan}")
}
# Which provider new checkouts use: the first configured of Stripe, Polar, Lemon Squeezy; else, in
# development, "local" (built in, needs no account — and takes no money: in production it
# must be chosen explicitly, e.g. for a demo); else "none" (billing pages say so).
BILLING_PROVIDER = env.choice(
    "BILLING_PROVIDER",
    ("stripe", "polar", "lemonsqueezy", "local", "none"),
    "stripe"
    if STRIPE_SECRET_KEY
    else "polar"
    if POLAR_ACCESS_TOKEN
    else "lemonsqueezy"
    if LEMONSQUEEZY_API_KEY
    else "local"
    if DEBUG
    else "none",
)
# Where the SDKs send API calls; only tests point these at a local fake server.
STRIPE_API_BASE = env.string("STRIPE_API_BASE")
POLAR_API_BASE = env.string("POLAR_API_BASE")
LEMONSQUEEZY_API_BASE = env.string("LEMONSQUEEZY_API_BASE")
BILLING_GRACE_DAYS = env.integer("BILLING_GRACE_DAYS", 7)

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [SITE_FILES_DIR / "static"]
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Uploads --------------------------------------------------------------------------
# Avatars go through the default storage. In development runserver serves them
# (config/urls.py); in production serve MEDIA_URL from the storage (a bucket, or the web
# server from MEDIA_ROOT), with `X-Content-Type-Options: nosniff`.
MEDIA_URL = env.string("MEDIA_URL", "/media/")
MEDIA_ROOT = env.string("MEDIA_ROOT", str(BASE_DIR / "media"))
AVATAR_MAX_BYTES = env.integer("AVATAR_MAX_BYTES", 1024 * 1024, minimum=1024)

# --- Data exports ---------------------------------------------------------------------
# Organization and account exports (organizations/exports.py, docs/exports.md): ZIPs in
# a private storage, outside MEDIA_ROOT and never served by URL; only the signed download
# link reaches them, for EXPORT_LINK_HOURS, after which the periodic prune deletes them.
EXPORTS_ROOT = env.string("EXPORTS_ROOT", str(BASE_DIR / "private" / "exports"))
STORAGES["exports"] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": EXPORTS_ROOT, "base_url": None},
}
EXPORT_LINK_HOURS = env.integer("EXPORT_LINK_HOURS", 24, minimum=1)
# Exports one organization (or one person) may request per day; one runs at a time.
EXPORTS_PER_DAY = env.integer("EXPORTS_PER_DAY", 5, minimum=1)

# --- Security -------------------------------------------------------------------------
# Strict Content Security Policy: only our own origin; inline scripts need the nonce
# from {{ csp_nonce }}.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", default=PRODUCTION)
# Load balancers probe /healthz, and Prometheus scrapes /metrics, over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.boolean("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.boolean("SECURE_HSTS_PRELOAD", default=True)
if env.boolean("SECURE_PROXY_SSL_HEADER", default=False):
    # Only behind a proxy that sets X-Forwarded-Proto itself and strips it from clients.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many reverse proxies of ours stand in front of the app, each appending the address
# it was reached from to X-Forwarded-For (kernel/client_ip.py). A count, as allauth takes
# it: the client is the N-th entry from the right, and what a client wrote further left
# is ignored. 0 (the default): no proxy, the connection's peer is the client.
TRUSTED_PROXIES = env.integer("TRUSTED_PROXIES", 0, minimum=0)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXIES

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = "en"
# What a person may choose (their profile, the footer's switcher); each has a catalogue
# under locale/ (docs/i18n.md says how to add one).
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [SITE_FILES_DIR / "locale"]
TIME_ZONE = "UTC"  # for people who chose none; accounts' middleware activates theirs
USE_I18N = True
# Dates follow the language: Django's formats, English's replaced by the product's own
# (config/formats/en/formats.py: "3 Dec 2026 14:30").
FORMAT_MODULE_PATH = ["config.formats"]
# Off: every number in a template would be grouped, ids in URLs and form values too.
# Quantities people read are grouped by `|intcomma`, which follows the language (1.000).
USE_THOUSAND_SEPARATOR = False
USE_TZ = True

# --- Observability --------------------------------------------------------------------
# Logs, error tracking, /healthz and /metrics: docs/operations.md ("Observability").
# One line per request (config/middleware.py), plain or one JSON object per line.
LOGGING = logging_settings(
    format=env.choice("LOG_FORMAT", FORMATS, "plain"),
    level=env.choice("LOG_LEVEL", ("debug", "info", "warning", "error"), "info"),
)
# Sentry, when a DSN is set: SENTRY_ENVIRONMENT, SENTRY_TRACES_SAMPLE_RATE (config/sentry.py).
SENTRY_DSN = env.string("SENTRY_DSN")
if SENTRY_DSN:
    from config.sentry import init_sentry

    init_sentry(env, dsn=SENTRY_DSN, production=PRODUCTION)
# /metrics answers only a scraper sending `Authorization: Bearer <METRICS_TOKEN>`; unset, 404.
METRICS_TOKEN = env.string("METRICS_TOKEN")
# prometheus-client reads it itself: several worker processes add up their counts there.
_metrics_directory = env.string("PROMETHEUS_MULTIPROC_DIR")
if _metrics_directory and not Path(_metrics_directory).is_dir():
    env.problem(
        "PROMETHEUS_MULTIPROC_DIR",
        f"PROMETHEUS_MULTIPROC_DIR={_metrics_directory!r} is not a directory.",
        "Create it (empty, writable by the server) before starting the server, or unset it "
        "for a single process.",
    )

# Read by config/checks.py: every malformed variable becomes a `manage.py check` error.
CONFIG_PROBLEMS = env.problems

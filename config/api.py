"""The JSON API root: /api/v1/ (OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs).

Each installed app's manifest names its router (kernel/manifest.py); every operation on it
is a registered function (kernel/api.py, checked by kernel/checks.py)."""

from importlib import import_module

from ninja import NinjaAPI

from kernel.api import default_auth, install_error_handlers
from kernel.manifest import api_modules

api = NinjaAPI(
    title="SaaS Starter API",
    version="1",
    description=(
        "Authenticate with an organization API key (`Authorization: Bearer sk_…`) or the "
        "browser session (send the CSRF token on unsafe methods). Mutations accept an "
        "`Idempotency-Key` header. Every error answers "
        '`{"error": {"code", "message", "fields"}}`.'
    ),
    urls_namespace="api-v1",
    auth=default_auth(),
)
install_error_handlers(api)
for module in api_modules():
    api.add_router("/", import_module(module).router)

"""The JSON API root: /api/v1/ (OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs)."""

from ninja import NinjaAPI

from accounts.api import router as accounts_router
from billing.api import router as billing_router
from kernel.ninja import SessionActorAuth, install_error_handlers
from organizations.api import router as organizations_router
from organizations.api_keys import ApiKeyAuth
from workspace_records.api import router as records_router  # workspace-demo

api = NinjaAPI(
    title="SaaS Starter API",
    version="1",
    description=(
        "Authenticate with an organization API key (`Authorization: Bearer sk_…`) or the "
        "browser session (send the CSRF token on unsafe methods). Unsafe calls accept an "
        "`Idempotency-Key` header. Every error answers "
        '`{"error": {"code", "message", "fields"}}`.'
    ),
    urls_namespace="api-v1",
    auth=[ApiKeyAuth(), SessionActorAuth()],
)
install_error_handlers(api)
api.add_router("/", organizations_router)
api.add_router("/", accounts_router)
api.add_router("/", billing_router)
api.add_router("/", records_router)  # workspace-demo

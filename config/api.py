"""The JSON API root: /api/v1/ (OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs)."""

from ninja import NinjaAPI

from accounts.api import router as accounts_router
from kernel.ninja import SessionActorAuth, install_error_handlers
from organizations.api import router as organizations_router

api = NinjaAPI(
    title="SaaS Starter API",
    version="1",
    description=(
        "Authenticate with the browser session (send the CSRF token on unsafe methods). "
        'Every error answers `{"error": {"code", "message", "fields"}}`.'
    ),
    urls_namespace="api-v1",
    auth=[SessionActorAuth()],
)
install_error_handlers(api)
api.add_router("/", organizations_router)
api.add_router("/", accounts_router)

from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from accounts.urls import account_pages, allauth_overrides
from billing.webhooks import webhook as billing_webhook
from config import views
from config.api import api
from organizations.urls import invitation_urlpatterns

# Operators sign in through allauth (with MFA); accounts/middleware.py enforces the rest.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("", views.landing, name="landing"),
    path("healthz", views.healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("accounts/", include(allauth_overrides)),  # step-up guarded, before allauth's own
    path("accounts/", include("allauth.urls")),
    path("account/", include(account_pages)),
    path("organization/", include("organizations.urls")),
    path("invitations/", include(invitation_urlpatterns)),
    path("records/", include("workspace_records.urls")),  # workspace-demo
    path("billing/", include("billing.urls")),
    path("webhooks/<str:provider>", billing_webhook, name="billing_webhook"),
    path("admin/", admin.site.urls),
]

if settings.BENCHMARK_ENDPOINTS:  # bench/records.py only; never on in production
    from bench.baseline import live_executions, records_raw

    urlpatterns.append(path("bench/records-raw/<int:organization_id>", records_raw))
    urlpatterns.append(path("bench/live-executions", live_executions))

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"

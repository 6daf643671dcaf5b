"""Pages: what the installed apps' manifests declare (kernel/manifest.py), then allauth's
own views, the admin and the API. Adding or deleting a domain changes nothing here."""

from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView
from django.views.i18n import JavaScriptCatalog

from config import dashboard, dev_mail, metrics, views
from config.api import api
from kernel.manifest import domain_urlpatterns

# Operators sign in through allauth (with MFA); accounts/middleware.py enforces the rest.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = f"{settings.SITE_NAME} admin"
admin.site.site_title = f"{settings.SITE_NAME} admin"
admin.site.index_title = "Operations"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),  # 404 unless METRICS_TOKEN is set
    # Placeholders a team replaces with its own legal text (linked from sign-up).
    path("terms/", TemplateView.as_view(template_name="pages/terms.html"), name="terms"),
    path("privacy/", TemplateView.as_view(template_name="pages/privacy.html"), name="privacy"),
    # Development only: each answers 404 unless DEBUG (config/dev_mail.py).
    path("dev/mail/", dev_mail.mailbox, name="dev_mail"),
    path("dev/mail/<str:mail_id>/", dev_mail.mail_detail, name="dev_mail_detail"),
    path("dev/mail/<str:mail_id>/html", dev_mail.mail_html, name="dev_mail_html"),
    path("api/v1/", api.urls),
    # The live client's texts in the request's language (static/js/*.js call gettext()).
    path("i18n/js/", JavaScriptCatalog.as_view(), name="javascript_catalog"),
    *domain_urlpatterns(),  # before allauth's: accounts overrides some of its views
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    *static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT),  # development only
]

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"

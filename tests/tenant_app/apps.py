from django.apps import AppConfig


class TenantAppConfig(AppConfig):
    """A tenant domain for the kernel's own tests (installed only in tests, through
    EXTRA_INSTALLED_APPS): the kernel is tested without the demo."""

    name = "tests.tenant_app"
    label = "tenant_app"
    verbose_name = "Test notes"

from django.apps import AppConfig


class KernelConfig(AppConfig):
    name = "kernel"
    verbose_name = "Kernel"

    def ready(self) -> None:
        from config import checks as config_checks  # noqa: F401  (registers checks)
        from kernel import checks  # noqa: F401

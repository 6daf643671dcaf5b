from django.apps import AppConfig


class KernelConfig(AppConfig):
    name = "kernel"
    verbose_name = "Kernel"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from config import checks as config_checks  # noqa: F401  (registers checks)
        from kernel import checks  # noqa: F401
        from kernel.live import sessions  # noqa: F401  (signing out closes sockets)

        post_migrate.connect(_install_change_capture, sender=self)


def _install_change_capture(using: str = "default", **kwargs: object) -> None:
    """After every migrate: (re)install the change-capture triggers on tenant tables."""
    from django.apps import apps
    from django.db import connections

    from kernel.change_capture import install_triggers

    install_triggers(apps.get_models(), using=connections[using])

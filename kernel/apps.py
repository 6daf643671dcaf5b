from django.apps import AppConfig


class KernelConfig(AppConfig):
    name = "kernel"
    verbose_name = "Kernel"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from kernel import checks, manifest  # noqa: F401  (checks registers the system checks)

        manifest.load()  # the apps' manifests and functions: models are all loaded by now
        post_migrate.connect(_install_change_capture, sender=self)


def _install_change_capture(using: str = "default", **kwargs: object) -> None:
    """After every migrate: (re)install the change-capture triggers on tenant tables."""
    from django.apps import apps
    from django.db import connections

    from kernel.change_capture import install_triggers

    install_triggers(apps.get_models(), using=connections[using])

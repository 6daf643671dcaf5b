from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """The project's wiring; an app only so that its system checks are registered."""

    name = "config"
    verbose_name = "Configuration"

    def ready(self) -> None:
        from config import checks  # noqa: F401  (registers the environment check)

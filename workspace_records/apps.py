from django.apps import AppConfig


class WorkspaceRecordsConfig(AppConfig):
    """The demo tenant domain. Nothing but its INSTALLED_APPS line names it, so it can be
    deleted with its folder (docs/removing-workspace-demo.md)."""

    name = "workspace_records"
    verbose_name = "Workspace records (demo)"

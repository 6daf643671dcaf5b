from django.apps import AppConfig


class WorkspaceRecordsConfig(AppConfig):
    """The demo tenant domain. Nothing in the kernel imports it, so it can be deleted."""

    name = "workspace_records"
    verbose_name = "Workspace records (demo)"

    def ready(self) -> None:
        from billing.usage import register_usage
        from workspace_records import live  # noqa: F401  (registers its live queries)
        from workspace_records.models import WorkspaceRecord

        register_usage("records", lambda org: WorkspaceRecord.objects.for_organization(org).count())

"""Plans grant capabilities only: the domains declare what a capability raises their
limits to (kernel/limits.py). The old `limit.<kind>:<n>` grants mean nothing now."""

from django.db import migrations


def drop_limit_grants(apps, schema_editor):  # type: ignore[no-untyped-def]
    Grant = apps.get_model("billing", "Grant")
    Grant._base_manager.filter(capability__startswith="limit.").delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(drop_limit_grants, migrations.RunPython.noop)]

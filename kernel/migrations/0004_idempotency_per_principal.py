"""Idempotency records belong to (principal, organization, function) and hold the
function's output, written in the mutation's own transaction. The old per-organization
records (24-hour HTTP responses) are dropped: nothing replays across the change."""

import django.db.models.functions.datetime
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("kernel", "0003_change_xid")]

    operations = [
        migrations.DeleteModel(name="IdempotencyRecord"),
        migrations.CreateModel(
            name="IdempotencyRecord",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("principal", models.CharField(help_text="user:7, key:3", max_length=64)),
                ("organization_id", models.BigIntegerField(blank=True, null=True)),
                ("function", models.CharField(max_length=100)),
                ("key", models.CharField(max_length=255)),
                ("fingerprint", models.CharField(max_length=64)),
                ("result", models.BinaryField(help_text="The output, as JSON")),
                ("created_at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
            ],
            options={
                "indexes": [models.Index(fields=["created_at"], name="idempotency_created")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("principal", "organization_id", "function", "key"),
                        name="idempotency_unique_key",
                        nulls_distinct=False,
                    )
                ],
            },
        ),
    ]

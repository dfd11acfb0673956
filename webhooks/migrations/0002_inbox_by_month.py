"""The webhook inbox is partitioned by month on received_at (core.partitions), kept for
WEBHOOK_INBOX_MONTHS: its indexes are built again on the parent under their names, and its
key becomes (id, received_at) in the database (Django keeps `id` as the pk). The quarantine's
link to an inbox event has no database constraint for that reason."""

from django.db import migrations

from core.partitions import table_partition


def partition(apps, schema_editor):
    table_partition(schema_editor.connection, table="webhooks_webhookevent", column="received_at")


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_inbox_and_quarantine"),
    ]

    operations = [migrations.RunPython(partition, elidable=False)]

"""The webhook inbox becomes a table partitioned by month on received_at (core.partitions),
kept for WEBHOOK_INBOX_MONTHS: its rows are carried over, its indexes built again on the
parent under their names, and its key becomes (id, received_at) in the database (Django
keeps `id` as the pk)."""

from django.db import migrations

from core.partitions import table_partition


def partition(apps, schema_editor):
    table_partition(schema_editor.connection, table="webhooks_webhookevent", column="received_at")


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0002_i13b_rejected_records_refused_deliveries"),
    ]

    operations = [migrations.RunPython(partition, elidable=False)]

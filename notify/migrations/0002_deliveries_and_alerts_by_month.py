"""Outgoing event deliveries are partitioned by month on created_at and alerts on first_at
(core.partitions), kept for EVENT_DELIVERY_MONTHS and ALERT_HISTORY_MONTHS: their indexes
(the due deliveries' partial index among them) are built again on the parent under their
names, their foreign keys are added again, and each database key becomes (id, <time
column>) (Django keeps `id` as the pk). Both columns are set once, when the row is made,
so a row never moves between months. No foreign key points at either table."""

from django.db import migrations

from core.partitions import table_partition


def partition(apps, schema_editor):
    table_partition(schema_editor.connection, table="notify_delivery", column="created_at")
    table_partition(schema_editor.connection, table="notify_alert", column="first_at")


class Migration(migrations.Migration):
    dependencies = [
        ("notify", "0001_events_subscriptions_and_alerts"),
    ]

    operations = [migrations.RunPython(partition, elidable=False)]

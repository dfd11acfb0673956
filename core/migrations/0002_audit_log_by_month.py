"""The audit log is partitioned by month on `at` (core.partitions), kept for AUDIT_LOG_MONTHS:
its indexes are built again on the parent under their names, and its key becomes (id, at) in
the database (Django keeps `id` as the pk)."""

from django.db import migrations

from core.partitions import table_partition


def partition(apps, schema_editor):
    table_partition(schema_editor.connection, table="core_auditentry", column="at")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_capabilities_tokens_audit_and_csp"),
    ]

    operations = [migrations.RunPython(partition, elidable=False)]

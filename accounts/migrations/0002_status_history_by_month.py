"""The status history is partitioned by month on event_time (core.partitions, docs/operations.md
"History"): the table the first migration made becomes a partitioned table whose database key
is (id, event_time) (Django keeps `id` as the pk), and its indexes and its unique key are built
on the parent, so on every month."""

from django.db import migrations, models

from core.partitions import table_partition


def partition(apps, schema_editor):
    table_partition(
        schema_editor.connection,
        table="accounts_statusevent",
        column="event_time",
        keep_indexes=False,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_fleet_agents_jobs_and_history"),
    ]

    operations = [
        migrations.RunPython(partition, elidable=False),
        migrations.AddIndex(
            model_name="statusevent",
            index=models.Index(
                fields=["whatsapp", "-event_time", "-id"], name="se_whatsapp_time"
            ),
        ),
        migrations.AddIndex(
            model_name="statusevent",
            index=models.Index(fields=["-event_time", "-id"], name="se_time"),
        ),
        migrations.AddIndex(
            model_name="statusevent",
            index=models.Index(
                fields=["agent_account", "-event_time", "-id"], name="se_agent_time"
            ),
        ),
        migrations.AddIndex(
            model_name="statusevent",
            index=models.Index(fields=["status", "-event_time", "-id"], name="se_status_time"),
        ),
        migrations.AddIndex(
            model_name="statusevent",
            index=models.Index(
                fields=["detail_status", "-event_time", "-id"], name="se_detail_time"
            ),
        ),
        migrations.AddConstraint(
            model_name="statusevent",
            constraint=models.UniqueConstraint(
                fields=("dedupe_key", "event_time"), name="se_dedupe_key"
            ),
        ),
    ]

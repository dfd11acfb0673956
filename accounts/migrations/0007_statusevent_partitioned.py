"""The status history becomes a table partitioned by month on event_time (core.partitions):
its rows are carried over, its key becomes (id, event_time) in the database, and its
indexes are built on the parent (so on every month)."""

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
        ("accounts", "0006_agent_fleet_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The old table and its indexes are dropped by the conversion.
            state_operations=[
                migrations.RemoveIndex(model_name="statusevent", name=name)
                for name in (
                    "accounts_st_whatsap_a5d636_idx",
                    "accounts_st_event_t_1a82bc_idx",
                    "accounts_st_agent_a_48dd2e_idx",
                    "accounts_st_status_ef8648_idx",
                    "accounts_st_detail__0a03e6_idx",
                )
            ]
            + [
                migrations.AlterField(
                    model_name="statusevent",
                    name="dedupe_key",
                    field=models.CharField(max_length=64),
                ),
            ],
            database_operations=[migrations.RunPython(partition, elidable=False)],
        ),
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

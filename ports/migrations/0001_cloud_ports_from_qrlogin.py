# The QR login app first owned cloud ports: the models move here, their tables stay
# (Meta.db_table), so this changes Django's state only.

from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('qrlogin', '0001_ports_quota_sessions_and_scan_tasks'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='CloudPort',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('port_id', models.CharField(max_length=32, unique=True)),
                        ('pregenerate_id', models.CharField(blank=True, db_index=True, max_length=64)),
                        ('phone', models.CharField(blank=True, max_length=32)),
                        ('status', models.PositiveSmallIntegerField(blank=True, choices=[(10, 'Online'), (20, 'Disconnected')], null=True)),
                        ('created_at_upstream', models.DateTimeField(blank=True, db_index=True, null=True)),
                        ('locked_until', models.DateTimeField(blank=True, null=True)),
                        ('released', models.BooleanField(default=False)),
                        ('seen_at', models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        'db_table': 'qrlogin_cloudport',
                        'ordering': ['created_at_upstream', 'port_id'],
                    },
                ),
                migrations.CreateModel(
                    name='PortQuota',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('current_port', models.PositiveIntegerField(default=0)),
                        ('max_port', models.PositiveIntegerField(default=0)),
                        ('fetched_at', models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        'db_table': 'qrlogin_portquota',
                    },
                ),
            ],
            database_operations=[],
        ),
    ]

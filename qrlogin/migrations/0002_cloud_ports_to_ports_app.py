# Cloud ports moved to the ports app (ports/migrations/0001), which keeps their tables:
# this changes Django's state only.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('qrlogin', '0001_ports_quota_sessions_and_scan_tasks'),
        ('ports', '0001_cloud_ports_from_qrlogin'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='CloudPort'),
                migrations.DeleteModel(name='PortQuota'),
            ],
            database_operations=[],
        ),
    ]

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("qrlogin", "0002_session_refresh_fields")]

    operations = [
        migrations.AddField(
            model_name="cloudport",
            name="pregenerate_id",
            field=models.CharField(blank=True, db_index=True, max_length=64),
        ),
    ]

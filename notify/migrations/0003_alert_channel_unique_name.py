import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models


def rename_duplicates(apps, schema_editor):
    """Channels saved before names were unique: the second and later of a name (case
    aside) get " (2)", " (3)"... so the constraint can be added."""
    channel_model = apps.get_model("notify", "AlertChannel")
    taken = set()
    for channel in channel_model.objects.order_by("id"):
        base, n = channel.name, 1
        name = base
        while name.lower() in taken:
            n += 1
            name = f"{base[:94]} ({n})"
        taken.add(name.lower())
        if name != channel.name:
            channel.name = name
            channel.save(update_fields=["name"])


class Migration(migrations.Migration):
    dependencies = [
        ("notify", "0002_deliveries_and_alerts_by_month"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(rename_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="alertchannel",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("name"),
                name="notify_alertchannel_name_unique",
            ),
        ),
    ]

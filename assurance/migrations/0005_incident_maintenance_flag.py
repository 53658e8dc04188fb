from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("assurance", "0004_incidents_and_maintenance"),
    ]

    operations = [
        migrations.AddField(
            model_name="incident",
            name="in_maintenance",
            field=models.BooleanField(default=False),
        ),
    ]

from django.db import migrations, models


def paths_without_trailing_slash(apps, schema_editor):
    """`/payment` and `/payment/` are one key from now on: where both exist, the row without
    the slash stays."""
    rows = apps.get_model("telco", "IdempotentRequest")
    for row in rows.objects.filter(path__endswith="/").order_by("pk"):
        path = row.path.rstrip("/")
        if rows.objects.filter(user_id=row.user_id, path=path, key=row.key).exists():
            row.delete()
        else:
            row.path = path
            row.save(update_fields=["path"])


class Migration(migrations.Migration):
    """Idempotency keys are claimed before the work: a row is `inProgress` until its answer is
    stored. Rows stored before this change all hold an answer, so they are `done`."""

    dependencies = [
        ("telco", "0002_one_clock"),
    ]

    operations = [
        migrations.AddField(
            model_name="idempotentrequest",
            name="state",
            field=models.CharField(
                choices=[("inProgress", "In Progress"), ("done", "Done")],
                default="done",
                max_length=20,
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="idempotentrequest",
            name="request_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name="idempotentrequest",
            name="status_code",
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="idempotentrequest",
            name="body",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.RunPython(paths_without_trailing_slash, migrations.RunPython.noop),
    ]

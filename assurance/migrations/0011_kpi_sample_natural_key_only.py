from django.db import migrations

PRIMARY_KEY = "assurance_kpisample_pkey"


def primary_key_drop(apps, schema_editor):
    """On PostgreSQL samples are identified by (series, time), the unique constraint every
    insert checks anyway; the (id, sampled_at) key was a second index to maintain per row for
    lookups by id that nothing makes. `id` stays, unique by its identity, for Django's rows."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE assurance_kpisample DROP CONSTRAINT {PRIMARY_KEY}")


def primary_key_add(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE assurance_kpisample ADD CONSTRAINT {PRIMARY_KEY} "
            "PRIMARY KEY (id, sampled_at)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("assurance", "0010_kpi_threshold_clear_below_raise"),
    ]

    operations = [migrations.RunPython(primary_key_drop, primary_key_add)]

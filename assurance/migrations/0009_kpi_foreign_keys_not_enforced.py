import django.db.models.deletion
from django.db import migrations, models

FOREIGN_KEY = "assurance_kpisample_series_id_fkey"


def foreign_key_drop(apps, schema_editor):
    """On PostgreSQL the samples' foreign key fires a trigger per inserted row; ingest locks the
    series of a batch once instead. Elsewhere the table keeps it (a plain table, no bulk path)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE assurance_kpisample DROP CONSTRAINT {FOREIGN_KEY}")


def foreign_key_add(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE assurance_kpisample ADD CONSTRAINT {FOREIGN_KEY} "
            "FOREIGN KEY (series_id) REFERENCES assurance_kpiseries (id)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("assurance", "0008_alarm_cleared_by_key"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="kpisample",
                    name="series",
                    field=models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="samples",
                        to="assurance.kpiseries",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(foreign_key_drop, foreign_key_add)],
        ),
        # Rollups: no trigger per row either, and the unique index leads with the series (the
        # lookups and the cascade go by series), so the series' own index goes.
        migrations.RemoveConstraint(model_name="kpirollup", name="one_kpi_rollup_per_bucket"),
        migrations.AlterField(
            model_name="kpirollup",
            name="series",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="rollups",
                to="assurance.kpiseries",
            ),
        ),
        migrations.AddConstraint(
            model_name="kpirollup",
            constraint=models.UniqueConstraint(
                fields=("series", "resolution", "bucket_start"), name="one_kpi_rollup_per_bucket"
            ),
        ),
    ]

from django.db import migrations


def pages_leave_room(apps, schema_editor):
    """On PostgreSQL each alarm page keeps 30% free: a repeat of a fault (counted, its severity
    raised) then rewrites the row on its own page, a HOT update that touches no index."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE assurance_alarm SET (fillfactor = 70)")


def pages_fill(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE assurance_alarm RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("assurance", "0012_alarm_references_unchecked"),
    ]

    operations = [
        # Nothing reads alarms by (state, severity) that the partial unique index on the
        # reduction key (active alarms) does not serve, and the severity in an index made every
        # severity change a non-HOT update.
        migrations.RemoveIndex(
            model_name="alarm",
            name="assurance_a_state_9d5cdd_idx",
        ),
        migrations.RunPython(pages_leave_room, pages_fill),
    ]

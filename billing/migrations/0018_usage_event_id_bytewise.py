# Usage eventIds compared byte by byte (collation "C") on PostgreSQL: the unique index on
# event_id is the most expensive of the usage table's on the ingest path (a lookup and an insert
# for every record), and a "C" comparison is a memcmp where the database's collation goes through
# the locale. Equality is the same (both are deterministic); SQLite keeps its own (binary) order.

from django.db import migrations

TABLE = "billing_usageevent"


def bytewise(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'ALTER TABLE {TABLE} ALTER COLUMN event_id TYPE varchar(80) COLLATE "C"')


def database_collation(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN event_id TYPE varchar(80)")


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0017_prepaid_transfer_reserve"),
    ]

    operations = [migrations.RunPython(bytewise, database_collation)]

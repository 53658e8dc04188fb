"""Trigram indexes behind customer search (`crm.selectors.customer_search`), PostgreSQL only.

Django's `icontains` on PostgreSQL compares `UPPER(column::text) LIKE UPPER(pattern)`, so each
index is a GIN trigram index on that same expression. The embedded demo runs on SQLite, where
this migration does nothing; the indexes are not in the model state, so `makemigrations` stays
quiet about them.
"""

from django.db import migrations

# (index name, table, column)
TRIGRAM_INDEXES = [
    ("crm_customer_name_trgm", "crm_customer", "name"),
    ("crm_party_email_trgm", "crm_party", "email"),
    ("crm_party_phone_trgm", "crm_party", "phone"),
    ("crm_billingaccount_number_trgm", "crm_billingaccount", "account_number"),
]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in TRIGRAM_INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in TRIGRAM_INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0002_billingaccountstatechange"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]

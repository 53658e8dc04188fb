"""What every app's demo data shares: who wrote it, the batch size and the operator's geography.

Each app seeds its own rows in its `demo.py` (catalog, crm, inventory, billing, assurance), and
the `seed_demo` command composes them in stack order. This kernel module imports no app.
"""

from collections.abc import Iterable

from django.db import connection, models
from django.db.models import Model

BATCH = 5000
SEED_USER = "seed_demo"  # who the demo's service calls and care history are recorded as

# The operator's regions and their cities: sites are built in them, customers live in them.
REGIONS = {
    "North": ["Leeds", "York", "Newcastle", "Sheffield"],
    "South": ["Brighton", "Southampton", "Portsmouth", "Reading"],
    "East": ["Norwich", "Cambridge", "Ipswich", "Colchester"],
    "West": ["Bristol", "Exeter", "Plymouth", "Bath"],
    "Central": ["Birmingham", "Leicester", "Coventry", "Nottingham"],
}
STREETS = [
    "High Street",
    "Station Road",
    "Church Lane",
    "Victoria Road",
    "Park Avenue",
    "Mill Lane",
    "Queen Street",
    "London Road",
    "Green Lane",
    "King Street",
]

# Fields whose Python value is what PostgreSQL's COPY takes as it is (aware datetimes, Decimals).
PLAIN_FIELDS = (
    models.AutoField,
    models.BigAutoField,
    models.BigIntegerField,
    models.BooleanField,
    models.CharField,
    models.DateField,  # and DateTimeField
    models.DecimalField,
    models.ForeignKey,
    models.IntegerField,
    models.TextField,
)


def rows_insert(model: type[Model], objects: Iterable[Model]) -> list[Model]:
    """Insert unsaved `objects` of `model` as `bulk_create` does (primary keys set, in order),
    through PostgreSQL's COPY, several times faster for the demo's hundreds of thousands of rows.

    The ids are drawn from the table's sequence in one statement first, so they are the ones an
    INSERT would have given. Values that a save converts (JSON, automatic dates) go through their
    field as a save would (`pre_save`, `get_db_prep_save`); the rest are sent as they are.
    Other databases (the embedded SQLite demo) get `bulk_create`.
    """
    objects = list(objects)
    if not objects:
        return objects
    if connection.vendor != "postgresql":
        return model._default_manager.bulk_create(objects, batch_size=BATCH)
    meta = model._meta
    fields = meta.concrete_fields
    # A save's conversions where they change something (JSON, auto dates), else the attribute.
    prepared = [
        field
        for field in fields
        if not isinstance(field, PLAIN_FIELDS)
        or getattr(field, "auto_now", False)
        or getattr(field, "auto_now_add", False)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(objects)],
        )
        ids = sorted(row[0] for row in cursor.fetchall())
        columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
        table = connection.ops.quote_name(meta.db_table)
        attnames = [field.attname for field in fields]
        prepared_at = [(attnames.index(field.attname), field) for field in prepared]
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for obj, pk in zip(objects, ids, strict=True):
                obj.pk = pk
                values = obj.__dict__
                row = [values[name] for name in attnames]
                for index, field in prepared_at:
                    row[index] = field.get_db_prep_save(field.pre_save(obj, True), connection)
                copy.write_row(row)
                obj._state.adding = False
                obj._state.db = connection.alias
    return objects


def rows_update(model: type[Model], objects: Iterable[Model], fields: list[str]) -> None:
    """Write `fields` of `objects` (rows of `model` that exist, primary keys set) as
    `bulk_update` does; on PostgreSQL in one UPDATE ... FROM unnest(arrays) statement."""
    objects = list(objects)
    if not objects:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(objects, fields, batch_size=1000)
        return
    meta = model._meta
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    quote = connection.ops.quote_name
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in columns)
    names = ", ".join(quote(field.column) for field in columns)
    pk = quote(meta.pk.column)
    assignments = ", ".join(
        f"{quote(field.column)} = v.{quote(field.column)}" for field in columns[1:]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} t SET {assignments}"  # noqa: S608
            f" FROM unnest({arrays}) AS v({names}) WHERE t.{pk} = v.{pk}",
            [
                [field.get_db_prep_save(getattr(obj, field.attname), connection) for obj in objects]
                for field in columns
            ],
        )

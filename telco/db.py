"""Database helpers of the kernel (PostgreSQL specifics the apps share)."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Lookup


@contextmanager
def bound_cursor() -> Iterator:
    """A cursor that sends the parameters apart from the statement (server-side binding).

    Django's default cursor spells every parameter into the SQL text, quoting in Python; for the
    set-based statements that pass arrays of thousands of values (`unnest(%s::text[], ...)`)
    that costs more than the statement. Queries through it are still logged and counted as
    Django's are (`CaptureQueriesContext`). PostgreSQL only.
    """
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    raw = ServerBindingCursor(connection.connection)
    if connection.queries_logged:
        cursor = connection.make_debug_cursor(raw)
    else:
        cursor = connection.make_cursor(raw)
    with cursor:
        yield cursor


class AnyOf(Lookup):
    """`field__any=values`: the field is one of `values`, a list sent as one array parameter on
    PostgreSQL (`= ANY(%s::type[])`). `__in` spells a parameter per value and prepares each
    one in Python: for the thousands of ids a bill-run chunk reads by, that cost more than the
    queries. Elsewhere (the embedded SQLite demo) it is `IN (...)`. Registered on every field
    (`TelcoConfig.ready`)."""

    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self):
        return list(self.rhs)

    def process_lhs(self, compiler, connection, lhs=None):
        if not self.rhs:
            raise EmptyResultSet  # no value, no row: the query is not sent (as `__in` does)
        return super().process_lhs(compiler, connection, lhs)

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        placeholders = ", ".join(["%s"] * len(self.rhs))
        return f"{lhs} IN ({placeholders})", (*lhs_params, *self.rhs)

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        array_type = self.lhs.output_field.db_type(connection)
        return f"{lhs} = ANY(%s::{array_type}[])", (*lhs_params, self.rhs)

"""Database helpers of the kernel (PostgreSQL specifics the apps share).

Columns of thousands of values go as one text parameter each. psycopg dumps a list parameter
element by element in Python: for the set-based statements of a bulk ingest (13 columns of
10,000 values, then the ids correlation reads and writes by) that cost as much as the
statements themselves. Serialising a column as one text costs next to nothing (`json.dumps`
and `str.join` run in C):

- `id_array(ids)` for `%s::bigint[]` (`= ANY(...)`, `unnest(...)`), `bool_array(values)`
  for `%s::boolean[]`: an array literal;
- `json_column(values)` for `json_array_elements_text(%s::json)`, in `ROWS FROM (...)` where
  several columns are zipped into rows as `unnest` does: strings, numbers, booleans, None and
  datetimes (ISO 8601, cast back with `::timestamptz`).
"""

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache

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

    with _cursor_of_class(ServerBindingCursor) as cursor:
        yield cursor


@contextmanager
def prepared_cursor() -> Iterator:
    """`bound_cursor` whose statements are prepared: parsed once per connection, and planned
    once when PostgreSQL finds a generic plan as cheap as the custom ones (after five
    executions). For the short statements every order runs (a state move by primary key):
    planning them cost PostgreSQL more than running them. Not for a statement whose best plan
    depends on its parameters' values (`statements_planned_each_time`). PostgreSQL only."""
    with _cursor_of_class(_preparing_cursor_class()) as cursor:
        yield cursor


@contextmanager
def statements_prepared() -> Iterator:
    """Within it, every statement with parameters sent through this connection's cursors (the
    ORM's too) is prepared, as `prepared_cursor` does: for a workflow that runs the same few
    dozen statements for every order (an activation: PostgreSQL's CPU per order fell by 15-30%).
    Nothing on SQLite."""
    with _cursor_factory(_preparing_cursor_class):
        yield


@contextmanager
def statements_planned_each_time() -> Iterator:
    """Within `statements_prepared`, Django's usual cursors again (parameters spelled into the
    statement, a plan for each execution): for a statement whose best plan depends on its
    parameters, where a generic plan would scan what a custom one skips."""
    from django.db.backends.postgresql.base import Cursor

    with _cursor_factory(lambda: Cursor):
        yield


@contextmanager
def _cursor_factory(cursor_class: Callable[[], type]) -> Iterator:
    """The connection's cursors are of the class within (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    previous = raw.cursor_factory
    raw.cursor_factory = cursor_class()
    try:
        yield
    finally:
        raw.cursor_factory = previous


@contextmanager
def _cursor_of_class(cursor_class: type) -> Iterator:
    """A Django cursor (execute wrappers, query logging) over a psycopg cursor of the class."""
    connection.ensure_connection()
    raw = cursor_class(connection.connection)
    if connection.queries_logged:
        cursor = connection.make_debug_cursor(raw)
    else:
        cursor = connection.make_cursor(raw)
    with cursor:
        yield cursor


@cache
def _preparing_cursor_class() -> type:
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparingCursor(ServerBindingCursor):
        def execute(self, query, params=None, **options):
            # A statement without parameters may be several (`SET ...; SET ...`), which a
            # prepared statement cannot be.
            options.setdefault("prepare", bool(params))
            return super().execute(query, params, **options)

    return PreparingCursor


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
        # Integers as one array literal (`id_array`): psycopg dumps a list element by element.
        values = id_array(self.rhs) if array_type in INTEGER_TYPES else self.rhs
        return f"{lhs} = ANY(%s::{array_type}[])", (*lhs_params, values)


INTEGER_TYPES = {"bigint", "integer", "smallint"}


def id_array(ids: Iterable[int | None]) -> str:
    """Integers (None is NULL) as one PostgreSQL array literal: `'{1,2,NULL}'`."""
    return "{" + ",".join("NULL" if pk is None else str(int(pk)) for pk in ids) + "}"


def bool_array(values: Iterable[bool]) -> str:
    """Booleans as one PostgreSQL array literal: `'{t,f}'`."""
    return "{" + ",".join("t" if value else "f" for value in values) + "}"


def json_column(values: Iterable) -> str:
    """Values as one JSON array; datetimes as ISO 8601 (each distinct one formatted once)."""
    formatted: dict[datetime, str] = {}

    def iso(value):
        if not isinstance(value, datetime):
            raise TypeError(f"Not a column value: {value!r}")
        if value not in formatted:
            formatted[value] = value.isoformat()
        return formatted[value]

    return json.dumps(list(values), default=iso)

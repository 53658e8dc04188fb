"""Database helpers of the kernel (PostgreSQL specifics the apps share)."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


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

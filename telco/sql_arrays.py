"""Columns of thousands of values as one text parameter each (PostgreSQL).

psycopg dumps a list parameter element by element in Python: for the set-based statements of a
bulk ingest (13 columns of 10,000 values, then the ids correlation reads and writes by) that
cost as much as the statements themselves. Serialising a column as one text costs next to
nothing (`json.dumps` and `str.join` run in C):

- `id_array(ids)` for `%s::bigint[]` (`= ANY(...)`, `unnest(...)`), `bool_array(values)`
  for `%s::boolean[]`: an array literal;
- `json_column(values)` for `json_array_elements_text(%s::json)`, in `ROWS FROM (...)` where
  several columns are zipped into rows as `unnest` does: strings, numbers, booleans, None and
  datetimes (ISO 8601, cast back with `::timestamptz`).
"""

import json
from collections.abc import Iterable
from datetime import datetime


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

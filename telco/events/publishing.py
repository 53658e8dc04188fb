"""Waking delivery when a transaction that wrote commits, without the writer knowing.

Every database connection gets an execute wrapper: a statement that writes (INSERT, UPDATE,
DELETE, a CTE, COPY) registers `tasks.kick` with `transaction.on_commit`, once per transaction.
The kick is a cache `add` and at most one `delay()` per debounce period, so the request that made
the change never waits for a listener; the beat sweep catches what a lost kick would miss.
"""

from django.db import transaction
from django.db.backends.signals import connection_created

WRITES = ("INSERT", "UPDATE", "DELETE", "WITH", "COPY", "MERGE")


def _kick_after_commit(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    statement = sql.lstrip()[:6].upper() if isinstance(sql, str) else ""
    # The hub's own bookkeeping (a cursor moved) is no change anyone listens to.
    if statement.startswith(WRITES) and "telco_eventlistener" not in sql:
        from telco.events.tasks import kick

        connection = context["connection"]
        pending = getattr(connection, "run_on_commit", [])
        if not any(item[1] is kick for item in pending):
            transaction.on_commit(kick, using=connection.alias)
    return result


def _wrap(sender, connection, **kwargs) -> None:
    if connection.vendor == "postgresql" and _kick_after_commit not in connection.execute_wrappers:
        # First in the list: `with connection.execute_wrapper(...)` (pghistory's context, for
        # one) pops the last one on exit, which must stay theirs.
        connection.execute_wrappers.insert(0, _kick_after_commit)


def connect() -> None:
    connection_created.connect(_wrap, dispatch_uid="telco.events.publishing")

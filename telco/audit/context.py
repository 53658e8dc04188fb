"""Who and from where, attached to every change (the context of the audit's events).

- A request (`AuditContextMiddleware`): user, url, method, source (`api` under /tmf-api and
  /api, `admin` under /admin, else `page`) and the time on the product's clock.
- A Celery task: source `task` and the task's name, from `task_prerun` to `task_postrun`; a task
  run eagerly inside a request only adds its name to the request's context.
- A management command: source `command` and the command's name (not the servers and shells,
  whose work is requests and tasks).

The triggers read the context from two PostgreSQL settings (`pghistory.context_id`,
`pghistory.context_metadata`). pghistory's own `context()` writes them by prefixing every
statement with a `SELECT set_config(...);`, which a server-side bound statement (our set-based
ingest, `telco.db.bound_cursor`) refuses; so they are set here by a statement of their own, on
the session, before the first write of each transaction that runs under a context (and when a
task or command starts or reconnects, for its COPYs, which no wrapper sees), and cleared after.
Nothing is set where there are no triggers (SQLite, the embedded demo).
"""

import json
import threading
import uuid
from contextlib import ExitStack, contextmanager, suppress

from django.core.management.base import BaseCommand
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connection
from django.db.backends.signals import connection_created

from telco import clock

# Commands whose work is done by the requests and tasks they serve, or that touch no data.
UNTRACKED_COMMANDS = {"runserver", "shell", "dbshell", "test", "testserver", "celery"}
SET_CONTEXT = (
    "SELECT set_config('pghistory.context_id', %s, false),"
    " set_config('pghistory.context_metadata', %s, false)"
)
READS = ("SELECT", "SHOW", "SET ", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")

_local = threading.local()


def source_of(path: str) -> str:
    """Where a request came from, by its path: api, admin or page."""
    if path.startswith(("/tmf-api/", "/api/")):
        return "api"
    if path.startswith("/admin/"):
        return "admin"
    return "page"


def tracking() -> bool:
    """True where the triggers that read the context exist (PostgreSQL)."""
    return connection.vendor == "postgresql"


def now_text() -> str:
    return clock.now().isoformat()


class AuditContext:
    """The context of one request, task or command; the user is read from the request when a
    change is written (DRF authenticates in the view, after the middleware)."""

    def __init__(self, metadata: dict, request=None):
        self.id = str(uuid.uuid4())
        self.metadata = metadata
        self.request = request

    def as_json(self) -> str:
        metadata = dict(self.metadata)
        if self.request is not None:
            user = getattr(self.request, "user", None)
            metadata["user"] = user.pk if user is not None and user.is_authenticated else None
        return json.dumps(metadata, cls=DjangoJSONEncoder)


def current() -> AuditContext | None:
    return getattr(_local, "value", None)


def _apply(database, context: AuditContext | None, raw_cursor=None) -> None:
    """Set (or clear, for None) the context on the session, unless the session already has it:
    set outside any transaction (a task's, when it starts), which no rollback undoes, or set in
    this transaction (the innermost atomic block: a rolled-back savepoint undoes a setting)."""
    text = context.as_json() if context else ""
    blocks = database.atomic_blocks
    session = (id(database.connection), text)
    if getattr(database, "audit_context_session", None) == session:
        return
    marker = (*session, id(blocks[-1]) if blocks else None)
    if getattr(database, "audit_context_marker", None) == marker:
        return
    cursor = raw_cursor or database.connection.cursor()
    cursor.execute(SET_CONTEXT, [context.id if context else "", text])
    database.audit_context_marker = marker
    # A setting made in a transaction lasts only if it commits: the next one sets it again.
    outside_transactions = not database.in_atomic_block and database.get_autocommit()
    database.audit_context_session = session if outside_transactions else None


def _before_write(execute, sql, params, many, context):
    held = current()
    text = sql if isinstance(sql, str) else ""
    if held is not None and not text.lstrip()[:9].upper().startswith(READS):
        _apply(context["connection"], held, raw_cursor=context["cursor"].cursor)
    return execute(sql, params, many, context)


def _on_connection_created(sender, connection, **kwargs):
    held = current()
    if held is not None and getattr(_local, "eager", False) and connection.vendor == "postgresql":
        _apply(connection, held)


@contextmanager
def audit_context(*, request=None, eager: bool = False, **metadata):
    """Changes made inside carry this context. Nested: adds `metadata` to the one already
    open. `eager` sets it on the session from the start (a task or command may COPY first)."""
    held = current()
    if held is not None or not tracking():
        if held is not None:
            held.metadata.update(metadata)
        yield held
        return
    held = AuditContext(metadata, request)
    _local.value, _local.eager = held, eager
    try:
        with connection.execute_wrapper(_before_write):
            if eager and connection.connection is not None:  # else: once it connects
                _apply(connection, held)
            yield held
    finally:
        _local.value = None
        # A broken connection keeps nothing (Django discards it): nothing to clear then.
        if connection.connection is not None:
            with suppress(DatabaseError):
                _apply(connection, None)


class AuditContextMiddleware:
    """Who made a request's changes, and from where."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not tracking():
            return self.get_response(request)
        with audit_context(
            request=request,
            url=request.path,
            method=request.method,
            source=source_of(request.path),
            at=now_text(),
        ):
            return self.get_response(request)


_open_tasks: dict[str, ExitStack] = {}


def _task_started(task_id=None, task=None, **kwargs):
    if task is None or not tracking():
        return
    stack = ExitStack()
    if current() is not None:  # run eagerly inside a request: keep its source, name the task
        stack.enter_context(audit_context(task=task.name))
    else:
        stack.enter_context(audit_context(eager=True, source="task", task=task.name, at=now_text()))
    _open_tasks[task_id] = stack


def _task_finished(task_id=None, **kwargs):
    stack = _open_tasks.pop(task_id, None)
    if stack is not None:
        stack.close()


def connect_task_signals() -> None:
    from celery import signals

    connection_created.connect(_on_connection_created, dispatch_uid="audit.session_context")
    signals.task_prerun.connect(_task_started, weak=False, dispatch_uid="audit.task_started")
    signals.task_postrun.connect(_task_finished, weak=False, dispatch_uid="audit.task_finished")


def wrap_management_commands() -> None:
    """Run every command (`manage.py x` and `call_command("x")`) inside a `command` context."""
    if getattr(BaseCommand.execute, "audited", False):
        return
    original = BaseCommand.execute

    def execute(self, *args, **options):
        name = self.__module__.rsplit(".", 1)[-1]
        if name in UNTRACKED_COMMANDS or not tracking() or current() is not None:
            return original(self, *args, **options)
        with audit_context(eager=True, source="command", command=name, at=now_text()):
            return original(self, *args, **options)

    execute.audited = True
    BaseCommand.execute = execute

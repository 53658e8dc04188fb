"""Structured logs: a request id for every request (kept in a context variable, carried into the
Celery tasks the request starts), a filter that adds it to every record, a JSON formatter."""

import contextvars
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.utils.functional import empty

# An incoming X-Request-ID is kept when it looks like an id (a proxy's or a client's), so one
# request can be followed across systems; anything else is replaced by a fresh one.
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
REQUEST_ID_HEADER = "X-Request-ID"

request_logger = logging.getLogger("telco.request")


@dataclass
class RequestContext:
    """What the logs say about the request (or task) being handled."""

    request_id: str
    path: str = ""
    method: str = ""
    request: object = None


current = contextvars.ContextVar("telco_request_context", default=None)


def current_request_id() -> str | None:
    context = current.get()
    return context.request_id if context else None


def request_id_from(header_value: str | None) -> str:
    if header_value and SANE_REQUEST_ID.match(header_value):
        return header_value
    return uuid.uuid4().hex


def known_username(request) -> str:
    """The user's name if authentication already ran, without a query of its own: a lazy user
    nobody looked at stays unevaluated (the log line must not add a session query)."""
    user = request.__dict__.get("user")
    if user is None or getattr(user, "_wrapped", None) is empty:
        return ""
    return user.get_username() if user.is_authenticated else ""


class RequestIdMiddleware:
    """Gives every request an id (the `X-Request-ID` header both ways) and logs one line per
    request (status, duration) when LOG_REQUESTS is on."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        context = RequestContext(
            request_id=request_id_from(request.headers.get(REQUEST_ID_HEADER)),
            path=request.path,
            method=request.method,
            request=request,
        )
        request.request_id = context.request_id
        token = current.set(context)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = context.request_id
            if settings.LOG_REQUESTS:
                request_logger.info(
                    "%s %s %s",
                    request.method,
                    request.path,
                    response.status_code,
                    extra={
                        "status": response.status_code,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )
            return response
        finally:
            current.reset(token)


def task_context_set(request_id: str | None):
    """A task starts: its logs carry the request id that queued it (a new one if none did).
    Returns the token that `task_context_reset` takes."""
    return current.set(RequestContext(request_id=request_id or uuid.uuid4().hex))


def task_context_reset(token) -> None:
    current.reset(token)


class RequestContextFilter(logging.Filter):
    """Adds request_id, user, path and method (and task_id, task_name inside a Celery task) to
    every record, so any formatter can show them."""

    def filter(self, record):
        context = current.get()
        # Django logs a 4xx/5xx answer (django.request) after the middleware is done with the
        # request; the record carries that request, and the id the middleware gave it.
        request = getattr(record, "request", None)
        if context is None and getattr(request, "request_id", None):
            context = RequestContext(
                request.request_id, path=request.path, method=request.method, request=request
            )
        record.request_id = context.request_id if context else ""
        if context and context.request is not None and not getattr(record, "user", ""):
            record.user = known_username(context.request)
        record.path = context.path if context else ""
        record.method = context.method if context else ""
        from celery import current_task

        task = current_task
        if task and getattr(task.request, "id", None):
            record.task_id, record.task_name = task.request.id, task.name
        return True


# Record attributes the JSON lines carry when present (beside time, level, logger, message).
JSON_FIELDS = (
    "request_id",
    "user",
    "path",
    "method",
    "status",
    "duration_ms",
    "task_id",
    "task_name",
)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the request's fields."""

    def format(self, record):
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in JSON_FIELDS:
            value = getattr(record, name, None)
            if value not in (None, ""):
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)

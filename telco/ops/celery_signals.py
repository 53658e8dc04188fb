"""Celery signal handlers: a published task carries the request id and its publication time in
its headers; in the worker, the task's logs carry that request id and its run and wait times are
recorded per queue (task_metrics). Connected by telco.celery, in every process."""

import time

from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    before_task_publish,
    task_postrun,
    task_prerun,
)
from django.conf import settings

from telco.ops import task_metrics
from telco.ops.logging import (
    JsonFormatter,
    RequestContextFilter,
    current_request_id,
    task_context_reset,
    task_context_set,
)

REQUEST_ID_HEADER = "telco_request_id"
PUBLISHED_AT_HEADER = "telco_published_at"

# Task id -> (started, queue, wait seconds, context token), between prerun and postrun.
running: dict[str, tuple[float, str, float | None, object]] = {}


@before_task_publish.connect
def stamp_task(headers=None, routing_key=None, **extra):
    if headers is None:
        return
    request_id = current_request_id()
    if request_id:
        headers[REQUEST_ID_HEADER] = request_id
    headers[PUBLISHED_AT_HEADER] = time.time()


def header(task, name: str):
    """A header set at publication (protocol 2 puts custom headers on the request itself)."""
    value = getattr(task.request, name, None)
    if value is None:
        value = (getattr(task.request, "headers", None) or {}).get(name)
    return value


@task_prerun.connect
def task_started(task_id=None, task=None, **extra):
    # An eager task runs inside its caller (a request, a test): its context is already there.
    if task is None or task.request.is_eager:
        return
    published_at = header(task, PUBLISHED_AT_HEADER)
    wait = time.time() - float(published_at) if published_at is not None else None
    queue = (task.request.delivery_info or {}).get("routing_key") or "default"
    token = task_context_set(header(task, REQUEST_ID_HEADER))
    running[task_id] = (time.perf_counter(), queue, wait, token)


@task_postrun.connect
def task_finished(task_id=None, task=None, **extra):
    started = running.pop(task_id, None)
    if started is None:
        return
    began, queue, wait, token = started
    task_context_reset(token)
    if settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        task_metrics.record(queue, run_seconds=time.perf_counter() - began, wait_seconds=wait)


@after_setup_logger.connect
@after_setup_task_logger.connect
def worker_log_format(logger=None, **extra):
    """The worker's own handlers (console or --logfile) get the request fields, and JSON lines
    when LOG_FORMAT=json."""
    for handler in logger.handlers:
        handler.addFilter(RequestContextFilter())
        if settings.LOG_FORMAT == "json":
            handler.setFormatter(JsonFormatter())

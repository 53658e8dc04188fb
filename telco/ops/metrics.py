"""Prometheus metrics: request rate and latency per route (a middleware), Celery queue depth
and task latency per queue (read from Redis at scrape time), and the business figures.

Several gunicorn workers each count their own requests: with PROMETHEUS_MULTIPROC_DIR set
(scripts/run) prometheus_client keeps every process's values in files there and a scrape adds
them up; without it the values live in this process.
"""

import os
import re
import time

import redis
from django.conf import settings
from prometheus_client import CollectorRegistry, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily

from telco.ops import business, task_metrics

REQUEST_SECONDS = Histogram(
    "telco_http_request_duration_seconds",
    "Time to answer a request, by URL route (the pattern, never the raw path), method and "
    "status class.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=None,
)
# A request no route matched (404s, scanners): one label value, whatever the path.
UNMATCHED_ROUTE = "<unmatched>"
STATIC_ROUTE = "<static>"
STATIC_PREFIX = "/" + settings.STATIC_URL.lstrip("/")
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def route_of(request) -> str:
    """The URL pattern that answered (`/tmf-api/.../productOrder/<pk>`), bounded in number."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        # WhiteNoise answers static files before any URL is resolved.
        return STATIC_ROUTE if request.path.startswith(STATIC_PREFIX) else UNMATCHED_ROUTE
    # DRF routers add regex anchors to their part of the pattern.
    return "/" + re.sub(r"(^|/)\^", r"\1", match.route).removesuffix("$")


class RequestMetricsMiddleware:
    """Times every request into REQUEST_SECONDS."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in METHODS else "other"
        REQUEST_SECONDS.labels(
            route=route_of(request), method=method, status=f"{response.status_code // 100}xx"
        ).observe(time.perf_counter() - started)
        return response


class CeleryCollector:
    """Queue depth (messages waiting in each Redis list) and task latency per queue, as the
    workers recorded it in Redis (task_metrics). Nothing on the embedded eager default."""

    def collect(self):
        if settings.CELERY_TASK_ALWAYS_EAGER:
            return
        up = GaugeMetricFamily("telco_celery_broker_up", "1 if the broker answered the scrape.")
        try:
            depths = task_metrics.queue_depths()
            summaries = task_metrics.latency_summaries()
        except redis.RedisError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        depth = GaugeMetricFamily(
            "telco_celery_queue_depth", "Tasks waiting in the queue.", labels=["queue"]
        )
        for queue, waiting in depths.items():
            depth.add_metric([queue], waiting)
        yield depth
        for phase, name, documentation in (
            ("run", "telco_celery_task_duration_seconds", "Time a task ran in a worker."),
            (
                "wait",
                "telco_celery_task_wait_seconds",
                "Time from a task's publication to its start in a worker.",
            ),
        ):
            family = HistogramMetricFamily(name, documentation, labels=["queue"])
            for queue, summary in summaries.items():
                buckets = summary.buckets(phase)
                if buckets:
                    family.add_metric([queue], buckets, summary.total(phase))
            yield family


class BusinessCollector:
    """The business figures, read at scrape time (a few cheap, indexed queries)."""

    def collect(self):
        yield from business.metric_families()


def scrape() -> bytes:
    """The whole exposition, in the Prometheus text format."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUEST_SECONDS)
    registry.register(CeleryCollector())
    registry.register(BusinessCollector())
    return generate_latest(registry)

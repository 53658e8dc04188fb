"""Celery task latency per queue, kept in Redis so the web's /metrics can read what every
worker (on any machine) measured: one small hash per queue with, for the run time and for the
wait from publication to start, a count, a sum and a count per bucket (made cumulative when
read: a task adds to one bucket, three increments, not one per bucket above its time). Also the
depth of each queue (the length of its Redis list)."""

import logging
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings

from telco.celery import QUEUES

logger = logging.getLogger(__name__)

BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
KEY_PREFIX = "telco:ops:task-latency:v2:"
# Kombu's Redis transport keeps a queue's messages of priority 3, 6 and 9 in lists of their own.
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)
# A scrape or a task must never wait long on Redis.
REDIS_TIMEOUT_SECONDS = 0.5


@cache
def broker_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
    )


def queue_names() -> list[str]:
    """Every queue the product routes to (settings' routes, default queue, the app's queues)."""
    names = {settings.CELERY_TASK_DEFAULT_QUEUE, *QUEUES}
    names.update(route["queue"] for route in settings.CELERY_TASK_ROUTES.values())
    return sorted(names)


def queue_depths() -> dict[str, int]:
    """Messages waiting in each queue (one pipelined round trip to the broker)."""
    names = queue_names()
    pipeline = broker_client(settings.CELERY_BROKER_URL).pipeline(transaction=False)
    for name in names:
        pipeline.llen(name)
        for priority in PRIORITY_STEPS:
            pipeline.llen(f"{name}{PRIORITY_SEPARATOR}{priority}")
    lengths = pipeline.execute()
    per_queue = 1 + len(PRIORITY_STEPS)
    return {
        name: sum(lengths[index * per_queue : (index + 1) * per_queue])
        for index, name in enumerate(names)
    }


def record(queue: str, *, run_seconds: float, wait_seconds: float | None) -> None:
    """Add one task's run (and wait) time to its queue's hash (one round trip)."""
    pipeline = broker_client(settings.CELERY_BROKER_URL).pipeline(transaction=False)
    key = KEY_PREFIX + queue
    for phase, seconds in (("run", run_seconds), ("wait", wait_seconds)):
        if seconds is None:
            continue
        seconds = max(seconds, 0.0)
        pipeline.hincrby(key, f"{phase}:count", 1)
        pipeline.hincrbyfloat(key, f"{phase}:sum", seconds)
        bucket = next((bound for bound in BUCKETS if seconds <= bound), None)
        if bucket is not None:  # above the last: only in the count (+Inf)
            pipeline.hincrby(key, f"{phase}:in:{bucket}", 1)
    try:
        pipeline.execute()
    except redis.RedisError as error:  # the task's work is done; only its timing is lost
        logger.warning("task latency not recorded for queue %s: %s", queue, error)


@dataclass
class LatencySummary:
    """One queue's hash, as read back."""

    fields: dict[str, float]

    def total(self, phase: str) -> float:
        return self.fields.get(f"{phase}:sum", 0.0)

    def buckets(self, phase: str) -> list[tuple[str, float]]:
        """Cumulative (upper bound, count) pairs ending with +Inf, or [] if nothing recorded."""
        count = self.fields.get(f"{phase}:count", 0.0)
        if not count:
            return []
        pairs, below = [], 0.0
        for bound in BUCKETS:
            below += self.fields.get(f"{phase}:in:{bound}", 0.0)
            pairs.append((str(bound), below))
        return [*pairs, ("+Inf", count)]


def latency_summaries() -> dict[str, LatencySummary]:
    names = queue_names()
    pipeline = broker_client(settings.CELERY_BROKER_URL).pipeline(transaction=False)
    for name in names:
        pipeline.hgetall(KEY_PREFIX + name)
    summaries = {}
    for name, raw in zip(names, pipeline.execute(), strict=True):
        if raw:
            fields = {key.decode(): float(value) for key, value in raw.items()}
            summaries[name] = LatencySummary(fields)
    return summaries

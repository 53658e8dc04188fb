"""Health of this web process's dependencies, for a load balancer: the database, the broker and
the workers, each bounded in time (about 2 s at worst in all)."""

import contextlib
import time

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from kombu.exceptions import OperationalError

from telco.celery import app

EMBEDDED = "embedded"
# A load balancer polls every few seconds; asking the workers costs a broadcast and a wait, so
# their answer is kept this long (in the cache every web process shares).
WORKERS_CACHE_SECONDS = 10
WORKERS_CACHE_KEY = "ops:health:workers"
BROKER_TIMEOUT_SECONDS = 0.5
WORKERS_TIMEOUT_SECONDS = 1.0


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        return {"status": "fail", "detail": str(error).strip()[:200]}
    return {"status": "ok"}


def check_broker() -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"status": EMBEDDED}
    client = redis.Redis.from_url(
        settings.CELERY_BROKER_URL,
        socket_timeout=BROKER_TIMEOUT_SECONDS,
        socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    except redis.RedisError as error:
        return {"status": "fail", "detail": str(error)[:200]}
    finally:
        client.close()
    return {"status": "ok"}


def check_workers() -> dict:
    """At least one worker answers a ping (the first answer ends the wait)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"status": EMBEDDED}
    try:
        cached = cache.get(WORKERS_CACHE_KEY)
    except redis.RedisError:  # a cache down only costs the cached answer
        cached = None
    if cached is not None:
        return cached
    try:
        replies = app.control.ping(timeout=WORKERS_TIMEOUT_SECONDS, limit=1)
    except (OSError, OperationalError) as error:
        return {"status": "fail", "detail": str(error)[:200]}
    if replies:
        result = {"status": "ok", "detail": ", ".join(name for reply in replies for name in reply)}
    else:
        result = {"status": "fail", "detail": "no worker answered a ping"}
    with contextlib.suppress(redis.RedisError):
        cache.set(WORKERS_CACHE_KEY, result, timeout=WORKERS_CACHE_SECONDS)
    return result


def elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def health() -> tuple[bool, dict]:
    """(all passed, what each check found with its time in milliseconds)."""
    checks = {}
    for name, check in (("database", check_database), ("broker", check_broker)):
        started = time.perf_counter()
        checks[name] = {**check(), "ms": elapsed_ms(started)}
    if checks["broker"]["status"] == "fail":
        # Asking the workers goes through the broker: it would wait for its reconnection.
        checks["workers"] = {"status": "fail", "detail": "not asked: the broker is down"}
    else:
        started = time.perf_counter()
        checks["workers"] = {**check_workers(), "ms": elapsed_ms(started)}
    passed = all(check["status"] in ("ok", EMBEDDED) for check in checks.values())
    return passed, checks

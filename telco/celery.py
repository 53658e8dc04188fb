"""Celery app: `celery -A telco worker` runs every queue; `celery -A telco beat` runs schedules."""

import os
import sys

from celery import Celery
from celery.signals import task_postrun, task_prerun
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "telco.settings")

# Every queue the product routes to (settings.CELERY_TASK_ROUTES); declaring them here makes a
# plain `celery -A telco worker` consume all of them.
QUEUES = ("default", "activation", "billing", "assurance")

app = Celery("telco")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(name) for name in QUEUES]
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _database_connections_kept_fresh(sender=None, **kwargs) -> None:
    """Around each task a worker runs: close the connections CONN_MAX_AGE says are too old, or
    that broke (Django's request signals, which do it for the web, do not fire in a worker).
    Not inside an eager task: that runs in its caller's transaction."""
    if not getattr(getattr(sender, "request", None), "is_eager", False):
        from django.db import close_old_connections

        close_old_connections()


def worker_command(name: str, *, pool: str = "solo", concurrency: int = 1) -> list[str]:
    """The command line of one `celery -A telco worker` process named `name` (tests, benches)."""
    return [
        *(sys.executable, "-m", "celery", "-A", "telco", "worker"),
        *("-P", pool, "-c", str(concurrency), "-l", "warning"),
        *("--without-gossip", "--without-mingle", "-n", f"{name}@%h"),
    ]


# Request ids into tasks and task latency per queue (after `app`: the handlers import QUEUES).
import telco.ops.celery_signals  # noqa: E402, F401

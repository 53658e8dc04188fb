"""Celery app: `celery -A telco worker` runs every queue; `celery -A telco beat` runs schedules."""

import os
import sys

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "telco.settings")

# Every queue the product routes to (settings.CELERY_TASK_ROUTES); declaring them here makes a
# plain `celery -A telco worker` consume all of them.
QUEUES = ("default", "activation", "billing", "assurance")

app = Celery("telco")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(name) for name in QUEUES]
app.autodiscover_tasks()


def worker_command(name: str, *, pool: str = "solo", concurrency: int = 1) -> list[str]:
    """The command line of one `celery -A telco worker` process named `name` (tests, benches)."""
    return [
        *(sys.executable, "-m", "celery", "-A", "telco", "worker"),
        *("-P", pool, "-c", str(concurrency), "-l", "warning"),
        *("--without-gossip", "--without-mingle", "-n", f"{name}@%h"),
    ]


# Request ids into tasks and task latency per queue (after `app`: the handlers import QUEUES).
import telco.ops.celery_signals  # noqa: E402, F401

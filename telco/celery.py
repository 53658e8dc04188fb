"""Celery app: `celery -A telco worker` runs every queue; `celery -A telco beat` runs schedules."""

import os

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

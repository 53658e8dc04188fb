"""Customer notices of an incident: exactly one per customer, kind and channel.

Called by the incident lifecycle (`incident_confirmed`, `incident_resolved`); safe to call twice.
"""

from django.db import transaction


def incident_confirmed(incident_id: int) -> None:
    """Tell every impacted customer the incident is confirmed (enqueued once the caller commits)."""
    _enqueue(incident_id, "confirmed")


def incident_resolved(incident_id: int) -> None:
    """Tell every customer told of the incident that it is resolved (enqueued on commit)."""
    _enqueue(incident_id, "resolved")


def _enqueue(incident_id: int, kind: str) -> None:
    def send():
        from celery import current_app

        current_app.send_task(
            "assurance.plan_incident_notices", args=[incident_id, kind], queue="assurance"
        )

    transaction.on_commit(send)

"""Assurance's Celery tasks: thin adapters that call a service."""

from celery import shared_task

from assurance.sla import sla_evaluate


@shared_task(name="assurance.evaluate_slas")
def evaluate_slas() -> int:
    """Record the SLA credits of the billing periods that ended (idempotent: once per product
    and period); beat runs it daily before the bill run."""
    return sla_evaluate()

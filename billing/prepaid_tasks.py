"""Prepaid tasks: thin adapters over billing.services.prepaid (imported by CELERY_IMPORTS)."""

from celery import shared_task

from billing.services.prepaid import prepaid_sweep


@shared_task(name="billing.sweep_prepaid")
def sweep_prepaid() -> dict:
    """Every minute (beat): silent charging sessions and reservations past their validity
    released, plans renewed, expired buckets closed, notices sent. Twice is harmless: each
    acts only on what is still due."""
    return prepaid_sweep()

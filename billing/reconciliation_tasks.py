"""Reconciliation tasks: thin adapters over billing.services.reconciliation (imported by
CELERY_IMPORTS)."""

from celery import shared_task

from billing.services import reconciliation


@shared_task(name="billing.reconciliation_run")
def reconciliation_run(run_id: int | None = None) -> dict:
    """Carry on the recorded run `run_id` (one `billing.reconcile_unit` task per unit not done),
    or (from beat) record one now and do so; a run still running then (its worker lost) is
    carried on instead. Twice is harmless: a done unit is skipped."""
    if run_id is None:
        running = reconciliation.reconciliation_running()
        run_id = (running or reconciliation.reconciliation_create(by="beat")).pk
    run = reconciliation.reconciliation_dispatch(run_id=run_id)
    return {"reconciliationRun": run.pk, "state": run.state, "unitsTotal": run.units_total}


@shared_task(name="billing.reconcile_unit")
def reconcile_unit(unit_id: int) -> dict:
    """Do one unit of a run in one transaction; a unit done already is left alone."""
    unit = reconciliation.reconciliation_unit_do(unit_id=unit_id)
    return {"unit": unit.pk, "done": unit.done_at is not None, "error": unit.error}

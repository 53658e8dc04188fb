"""Billing tasks: thin adapters over billing.services."""

from datetime import date

from celery import shared_task

from billing.services import (
    bill_on_demand_run,
    bill_run_chunk_bill,
    bill_run_create,
    bill_run_dispatch,
    dunning_run,
    fraud,
)
from telco import clock


@shared_task(name="billing.run_bill_run")
def run_bill_run(
    bill_run_id: int | None = None, as_of: str | None = None, billing_account_id: int | None = None
) -> dict:
    """Carry on the recorded run `bill_run_id`, or (from beat) start one as of `as_of` or today:
    one `bill_run_chunk` task per chunk still to do, for the workers.

    Running it twice is harmless: a completed run is left alone and a done chunk is skipped.
    """
    if bill_run_id is None:
        day = date.fromisoformat(as_of) if as_of else clock.now().date()
        bill_run_id = bill_run_create(as_of=day, billing_account_id=billing_account_id).pk
    bill_run = bill_run_dispatch(bill_run_id=bill_run_id)
    return {
        "billRun": bill_run.pk,
        "state": bill_run.state,
        "accountsDone": bill_run.accounts_done,
        "billsCreated": bill_run.bills_created,
    }


@shared_task(name="billing.bill_run_chunk")
def bill_run_chunk(chunk_id: int) -> dict:
    """Bill one chunk of a bill run (one transaction); a chunk already done is left alone."""
    return {"chunk": chunk_id, "billed": bill_run_chunk_bill(chunk_id=chunk_id)}


@shared_task(name="billing.run_bill_on_demand")
def run_bill_on_demand(bill_on_demand_id: int) -> dict:
    """Bill the account of a customerBillOnDemand request; a finished request is left alone."""
    request = bill_on_demand_run(bill_on_demand_id=bill_on_demand_id)
    return {"customerBillOnDemand": request.pk, "state": request.state}


@shared_task(name="billing.run_dunning")
def run_dunning() -> dict:
    """The daily dunning run (beat): close, open, next steps, carry them out. Twice is
    harmless: each step is taken once per case."""
    return dunning_run()


@shared_task(name="billing.fraud_evaluate")
def fraud_evaluate() -> dict:
    """The fraud rules over the usage stored since the last evaluation (queued by ingest, and
    swept by beat). Twice is harmless: the watermark moved, and a hit updates its case."""
    fraud.fraud_evaluation_started()
    if not fraud.fraud_rules_available():
        return {"skipped": "Fraud rules need PostgreSQL."}
    return fraud.fraud_rules_evaluate().as_dict()

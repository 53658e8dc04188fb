"""Reconciliation: network truth against the inventory, the inventory against billing, and
mediation against billing, every night and on demand, as cases (`billing.services.cases`).

A run is recorded with its units (one comparison over one slice: an element, a range of product
ids, a usage day), then each unit is done in one transaction: its findings recorded as cases,
the cases of its slice no longer found resolved, `done_at` set and the run's counters moved.
Workers do the units in parallel (`billing.reconcile_unit`); a unit that fails (an element
that does not answer) keeps its error and the run goes on; `reconciliation_resume` does again
what is not done. Comparisons:

- `network` (per element, `network.py`): the element's whole running configuration, read once
  through its driver, against what the inventory expects there: orphanConfig, configMissing,
  configDrift;
- `billing` (per slice of product ids, `accounts.py`): activeNotBillable, billableNotActive,
  priceMismatch, recurringMissing;
- `mediation` (per usage day, `mediation.py`): usage received, rated and billed per rating
  group; usageNotRated, usageRejected.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F

from billing.choices import ReconciliationRunState
from billing.models import ReconciliationRun, ReconciliationUnit
from billing.services.cases import Finding, cases_record
from billing.services.reconciliation.accounts import billing_findings
from billing.services.reconciliation.mediation import mediation_findings
from billing.services.reconciliation.network import network_findings
from inventory import services as inventory_services
from telco import clock
from telco.exceptions import DomainError

NETWORK, BILLING, MEDIATION = "network", "billing", "mediation"
COMPARISONS = (NETWORK, BILLING, MEDIATION)


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _unit_keys(as_of) -> list[tuple[str, str]]:
    """Every (comparison, key) of a run as of `as_of`: a unit per element, per slice of
    product ids, per usage day of the last RECONCILIATION_USAGE_DAYS."""
    keys = [
        (NETWORK, name)
        for name in inventory_services.elements_holding_services().values_list("name", flat=True)
    ]
    first, last = inventory_services.product_id_bounds()
    if last:
        size = _setting("RECONCILIATION_PRODUCTS_PER_UNIT", 5000)
        for low in range(first, last + 1, size):
            keys.append((BILLING, f"{low}-{min(low + size - 1, last)}"))
    today = as_of.date()
    days = _setting("RECONCILIATION_USAGE_DAYS", 7)
    keys += [(MEDIATION, str(today - timedelta(days=back))) for back in range(days, 0, -1)]
    return keys


def reconciliation_running() -> ReconciliationRun | None:
    """The run still running, if any (there is one at a time)."""
    return ReconciliationRun.objects.filter(state=ReconciliationRunState.RUNNING).first()


def reconciliation_create(*, by: str = "", as_of=None) -> ReconciliationRun:
    """Record a run and its units (nothing compared yet)."""
    as_of = as_of or clock.now()
    with transaction.atomic():
        # One run at a time: two would record the same differences side by side.
        running = (
            ReconciliationRun.objects.select_for_update()
            .filter(state=ReconciliationRunState.RUNNING)
            .first()
        )
        if running is not None:
            raise DomainError(
                f"Reconciliation {running.pk} is running: wait for it, or resume it if it stopped."
            )
        run = ReconciliationRun.objects.create(as_of=as_of, started_by=by, started_at=clock.now())
        units = ReconciliationUnit.objects.bulk_create(
            ReconciliationUnit(run=run, comparison=comparison, key=key)
            for comparison, key in _unit_keys(as_of)
        )
        run.units_total = len(units)
        run.save(update_fields=["units_total"])
    if not units:
        _finish_if_done(run.pk)
    return run


def reconciliation_start(*, by: str = "", as_of=None) -> ReconciliationRun:
    """Record a run and hand its units to the workers once this transaction commits (on the
    embedded default, eager Celery does them here)."""
    from billing.reconciliation_tasks import reconciliation_run

    with transaction.atomic():
        run = reconciliation_create(by=by, as_of=as_of)
        transaction.on_commit(lambda: reconciliation_run.delay(run_id=run.pk))
    return run


def reconciliation_dispatch(*, run_id: int) -> ReconciliationRun:
    """One `billing.reconcile_unit` task per unit not done yet (a done unit is skipped by the
    task too, so dispatching twice is harmless)."""
    from billing.reconciliation_tasks import reconcile_unit

    run = ReconciliationRun.objects.get(pk=run_id)
    for unit_id in run.units.filter(done_at__isnull=True).values_list("pk", flat=True):
        reconcile_unit.delay(unit_id=unit_id)
    _finish_if_done(run.pk)
    run.refresh_from_db()
    return run


def reconciliation_run_here(*, run_id: int) -> ReconciliationRun:
    """Do every unit not done yet in this process, one after the other (the benchmark, the
    tests, a command); what a worker would do, unit by unit."""
    for unit_id in ReconciliationUnit.objects.filter(
        run_id=run_id, done_at__isnull=True, error=""
    ).values_list("pk", flat=True):
        reconciliation_unit_do(unit_id=unit_id)
    _finish_if_done(run_id)
    return ReconciliationRun.objects.get(pk=run_id)


def reconciliation_resume(run: ReconciliationRun) -> ReconciliationRun:
    """Carry a stopped or failed run on: its units not done are tried again (their errors
    cleared), on the workers once this transaction commits. A completed run is refused."""
    from billing.reconciliation_tasks import reconciliation_run

    with transaction.atomic():
        run = ReconciliationRun.objects.select_for_update().get(pk=run.pk)
        if run.state == ReconciliationRunState.COMPLETED:
            raise DomainError(f"Reconciliation {run.pk} is completed: nothing to resume.")
        run.units.filter(done_at__isnull=True).update(error="")
        ReconciliationRun.objects.filter(pk=run.pk).update(
            state=ReconciliationRunState.RUNNING, error="", finished_at=None
        )
        transaction.on_commit(lambda: reconciliation_run.delay(run_id=run.pk))
    run.refresh_from_db()
    return run


def _findings_of(unit: ReconciliationUnit, run: ReconciliationRun):
    if unit.comparison == NETWORK:
        return network_findings(element_name=unit.key)
    if unit.comparison == BILLING:
        first, last = (int(each) for each in unit.key.split("-"))
        return billing_findings(first_id=first, last_id=last, as_of=run.as_of)
    if unit.comparison == MEDIATION:
        return mediation_findings(day=unit.key, as_of=run.as_of)
    raise DomainError(f"Unknown comparison '{unit.comparison}'.")


def reconciliation_unit_do(*, unit_id: int) -> ReconciliationUnit:
    """Do one unit: compare (reading the network outside any transaction), then record the
    findings as cases, the unit done and the run's counters in one transaction. A unit done
    already is left alone; a unit that fails (an element that does not answer, a write
    refused) keeps its error and nothing of its findings (the run goes on; a resume tries it
    again)."""
    unit = ReconciliationUnit.objects.select_related("run").get(pk=unit_id)
    if unit.done_at is not None:
        return unit
    try:
        findings, scope = _findings_of(unit, unit.run)
        # One difference per fingerprint (a price billed wrong in three periods is one case,
        # its latest sight kept), as `cases_record` keeps them, and as the run counts them.
        findings = list({finding.fingerprint: finding for finding in findings}.values())
        with transaction.atomic():
            locked = ReconciliationUnit.objects.select_for_update().get(pk=unit.pk)
            if locked.done_at is not None:
                return locked  # another worker did it meanwhile
            outcome = cases_record(findings, scope=scope, run=unit.run)
            locked.done_at, locked.error, locked.differences = clock.now(), "", len(findings)
            locked.save(update_fields=["done_at", "error", "differences"])
            _count(unit.run_id, findings, opened=len(outcome.opened), closed=outcome.closed)
    except Exception as error:  # noqa: BLE001 - any failure is the unit's, the run goes on
        ReconciliationUnit.objects.filter(pk=unit.pk, done_at__isnull=True).update(
            error=f"{error.__class__.__name__}: {error}"[:2000]
        )
        _finish_if_done(unit.run_id)
        unit.refresh_from_db()
        return unit
    _finish_if_done(unit.run_id)
    return locked


def _count(run_id: int, findings: list[Finding], *, opened: int, closed: int) -> None:
    """Add a unit's figures to its run (counters with F(); the kinds under the run's lock)."""
    run = ReconciliationRun.objects.select_for_update().only("found_by_kind").get(pk=run_id)
    by_kind = dict(run.found_by_kind)
    for finding in findings:
        by_kind[finding.kind] = by_kind.get(finding.kind, 0) + 1
    ReconciliationRun.objects.filter(pk=run_id).update(
        found_by_kind=by_kind,
        units_done=F("units_done") + 1,
        cases_opened=F("cases_opened") + opened,
        cases_closed=F("cases_closed") + closed,
    )


def _finish_if_done(run_id: int) -> None:
    """Once no unit is left to try: completed when every unit is done, else failed (naming the
    units in error, which a resume tries again)."""
    with transaction.atomic():
        run = ReconciliationRun.objects.select_for_update().get(pk=run_id)
        if run.state != ReconciliationRunState.RUNNING:
            return
        undone = run.units.filter(done_at__isnull=True)
        if undone.filter(error="").exists():
            return
        failed = list(undone.values_list("comparison", "key", "error")[:20])
        run.finished_at = clock.now()
        if failed:
            run.state = ReconciliationRunState.FAILED
            run.error = f"{undone.count()} unit(s) failed: " + "; ".join(
                f"{comparison} {key}: {error}" for comparison, key, error in failed
            )
        else:
            run.state, run.error = ReconciliationRunState.COMPLETED, ""
        run.save(update_fields=["state", "error", "finished_at"])


__all__ = [
    "COMPARISONS",
    "reconciliation_create",
    "reconciliation_dispatch",
    "reconciliation_resume",
    "reconciliation_run_here",
    "reconciliation_running",
    "reconciliation_start",
    "reconciliation_unit_do",
]

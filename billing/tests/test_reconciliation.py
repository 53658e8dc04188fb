"""Reconciliation: each kind of difference found as a case, found again as the same case, gone
and resolved with a note; an element that does not answer fails its unit and a resume does it;
the actions taken from a case, and refused on another kind; the run's API."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.choices import CaseEventType, CaseKind, CaseState, ReconciliationRunState
from billing.models import (
    AppliedCharge,
    CustomerBillOnDemand,
    ReconciliationRun,
    RevenueCase,
    UsageEvent,
)
from billing.services import account_bill
from billing.services import reconciliation as engine
from billing.services.case_actions import (
    case_remove_orphan_config,
    case_rerate_day,
    case_start_billing,
)
from billing.services.usage import usage_ingest
from billing.tests.factories import active_product, usage_event
from catalog.demo import ensure_catalog
from catalog.models import ProductOfferingPrice
from catalog.tests.factories import five_g_premium_offering
from crm.tests.factories import BillingAccountFactory
from inventory import services as inventory_services
from inventory.choices import ProductStatus, ServiceState
from inventory.models import ProductInstance, Service, ServiceResource
from inventory.network import driver_for
from inventory.tests.factories import (
    CustomerFacingServiceFactory,
    ProductInstanceFactory,
    fibre_access,
)
from orders import services as order_services
from orders.services import ItemRequest, PartyRequest
from telco.exceptions import DomainError

pytestmark = pytest.mark.django_db

RUNS = "/api/revenue-assurance/v1/reconciliationRun"


def django_queries():
    return CaptureQueriesContext(connection)


def reconcile() -> ReconciliationRun:
    run = engine.reconciliation_create(by="test")
    return engine.reconciliation_run_here(run_id=run.pk)


def cases(kind: str, **filters) -> list[RevenueCase]:
    return list(RevenueCase.objects.filter(kind=kind, **filters).order_by("pk"))


def fibre_line(offering, account) -> Service:
    """A fibre line ordered and activated end to end (OLT and BNG configured in the lab)."""
    order = order_services.product_order_submit(
        items=[ItemRequest("1", "add", str(offering.pk), {})],
        parties=[PartyRequest(str(account.customer_id), "Customer")],
    )
    order_services.product_order_process(product_order_id=order.pk)
    for service_order in order.service_orders.all():
        order_services.service_order_run(service_order_id=service_order.pk)
    product = ProductInstance.objects.get(product_order_id=str(order.pk))
    assert product.status == ProductStatus.ACTIVE
    return Service.objects.get(product=product, parent=None)


def ref_on(cfs: Service, element) -> str:
    return str(ServiceResource.objects.get(resource=element, service__parent=cfs).service_id)


def test_network_differences_are_cases_found_again_then_resolved_when_gone(lab):
    offerings = ensure_catalog()
    access = fibre_access()
    olt, bng = access["olt"], access["bng"]
    account = BillingAccountFactory()
    line_a = fibre_line(offerings["Fibre 500"], account)
    line_b = fibre_line(offerings["Fibre 500"], account)
    olt_driver, bng_driver = driver_for(olt.resource_kind), driver_for(bng.resource_kind)
    a_on_olt, b_on_bng = ref_on(line_a, olt), ref_on(line_b, bng)

    # The whole running configuration in one read, as `status` reports each entry.
    running = olt_driver.running_configs(element=olt.name)
    assert running[a_on_olt] == olt_driver.status(element=olt.name, service_ref=a_on_olt)["config"]
    assert len(running) == 2

    clean = reconcile()
    assert clean.state == ReconciliationRunState.COMPLETED
    assert clean.units_done == clean.units_total
    assert clean.found_by_kind == {}

    # A: removed from the OLT behind our back; B: another VLAN on the BNG; an ONT of nobody.
    olt_driver.deactivate(element=olt.name, idempotency_key="t-gone", service_ref=a_on_olt)
    b_expected = inventory_services.element_config_expected(line_b, resource=bng)
    bng_driver.modify(
        element=bng.name,
        idempotency_key="t-drift",
        service_ref=b_on_bng,
        payload={**b_expected, "vlan": 1030},
    )
    ghost = {**running[ref_on(line_b, olt)], "service": "ghost", "ontId": 9, "ontSerial": "GH0ST"}
    olt_driver.activate(
        element=olt.name, idempotency_key="t-ghost", service_ref="990001", payload=ghost
    )

    first = reconcile()
    assert first.found_by_kind == {"configMissing": 1, "configDrift": 1, "orphanConfig": 1}
    assert first.cases_opened == 3
    (missing,) = cases(CaseKind.CONFIG_MISSING)
    assert (missing.element, missing.service_ref, missing.service_id) == (
        olt.name,
        a_on_olt,
        line_a.pk,
    )
    assert missing.product_id == line_a.product_id
    assert missing.billing_account_id == account.pk
    (drift,) = cases(CaseKind.CONFIG_DRIFT)
    assert drift.element == bng.name
    assert drift.evidence["keys"] == ["vlan"]
    assert drift.evidence["reported"] == {"vlan": 1030}
    (orphan,) = cases(CaseKind.ORPHAN_CONFIG)
    assert (orphan.element, orphan.service_ref, orphan.service_id) == (olt.name, "990001", None)

    again = reconcile()
    assert again.cases_opened == 0
    assert again.cases_closed == 0
    assert RevenueCase.objects.count() == 3
    assert RevenueCase.objects.filter(last_run=again, state=CaseState.OPEN).count() == 3

    # Remove the orphan from its case: through the driver, resolved once the element agrees.
    removed = case_remove_orphan_config(orphan, by="finance1")
    assert removed.state == CaseState.RESOLVED
    assert "990001" not in lab.config(olt.name)
    assert orphan.events.filter(type=CaseEventType.ACTION).exists()
    with pytest.raises(DomainError):
        case_remove_orphan_config(drift, by="finance1")  # another kind
    with pytest.raises(DomainError):
        case_start_billing(missing, by="finance1")

    # The NOC puts A back and B right: the next run resolves both, with a note.
    olt_driver.activate(
        element=olt.name,
        idempotency_key="t-back",
        service_ref=a_on_olt,
        payload=inventory_services.element_config_expected(line_a, resource=olt),
    )
    bng_driver.modify(
        element=bng.name, idempotency_key="t-right", service_ref=b_on_bng, payload=b_expected
    )
    fixed = reconcile()
    assert fixed.cases_closed == 2
    assert fixed.found_by_kind == {}
    for case in (missing, drift):
        case.refresh_from_db()
        assert case.state == CaseState.RESOLVED
        assert case.closed_at is not None
        gone = case.events.get(type=CaseEventType.GONE)
        assert gone.text == f"No longer found by reconciliation {fixed.pk}."

    # An element that does not answer: its unit fails, the others are done, a resume does it.
    bng_driver.deactivate(element=bng.name, idempotency_key="t-gone-b", service_ref=b_on_bng)
    lab.fail(bng.name, "permanent")
    broken = reconcile()
    assert broken.state == ReconciliationRunState.FAILED
    assert broken.units_done == broken.units_total - 1
    failed = broken.units.get(done_at__isnull=True)
    assert failed.key == bng.name
    assert "rejected" in failed.error
    assert bng.name in broken.error
    lab.heal(bng.name)
    engine.reconciliation_resume(broken)
    resumed = engine.reconciliation_run_here(run_id=broken.pk)
    assert resumed.state == ReconciliationRunState.COMPLETED
    assert resumed.units_done == resumed.units_total
    assert resumed.error == ""
    drift.refresh_from_db()
    assert cases(CaseKind.CONFIG_MISSING, service_ref=b_on_bng)[0].state == CaseState.OPEN
    with pytest.raises(DomainError):
        engine.reconciliation_resume(resumed)  # completed


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def test_billing_and_mediation_differences_their_actions_and_a_second_run():
    """Pinned at 2026-12-03 10:00: products from 10 September (a prorated first period),
    billed to 1 December."""
    account = BillingAccountFactory()
    own_price = five_g_premium_offering(name="5G Repriced")
    mismatched = active_product(account=account, start_date=at("2026-09-10", 0), offering=own_price)
    unbilled_line = active_product(account=account, start_date=at("2026-09-10", 0))
    undelivered = active_product(account=account, start_date=at("2026-09-10", 0))
    # Not billable when the bills were made; then started (back-dated) within October.
    ProductInstance.objects.filter(pk=unbilled_line.pk).update(status=ProductStatus.PENDING_ACTIVE)
    assert len(account_bill(account=account, as_of=date(2026, 12, 1))) == 3
    ProductInstance.objects.filter(pk=unbilled_line.pk).update(
        status=ProductStatus.ACTIVE, start_date=at("2026-10-25", 0)
    )
    september = AppliedCharge.objects.get(
        product=mismatched, charge_type="recurring", period_start=at("2026-09-01", 0)
    )
    assert september.quantity < 1  # prorated, and compared as prorated
    # The catalog says 25.00 for the periods billed at 30.00 (bill lines never change).
    monthly = own_price.prices.get(price_type="recurring")
    ProductOfferingPrice.objects.filter(pk=monthly.pk).update(amount=Decimal("25.00"))
    Service.objects.filter(product=undelivered).update(state=ServiceState.INACTIVE)
    # The seeds' leakage: the network activated it, the product never heard.
    pending = ProductInstanceFactory(
        billing_account=BillingAccountFactory(),
        status=ProductStatus.PENDING_ACTIVE,
        start_date=None,
    )
    pending_service = CustomerFacingServiceFactory(
        product=pending, state=ServiceState.ACTIVE, start_date=at("2026-11-20", 9)
    )
    for number in (1, 2):  # its usage is rejected: no billable product
        event, _ = usage_ingest(
            event_id=f"rej-{number}",
            service_id=str(pending_service.pk),
            usage_date=at("2026-12-01"),
            volume=Decimal(1),
            unit="GB",
            rating_group="DATA_5G_PREMIUM",
        )
        assert event.rejection_reason == "noBillableProduct"
    # Usage the November bill (made after it arrived) left out.
    skipped = usage_event(product=mismatched, usage_date=at("2026-11-28"), gigabytes="3")
    UsageEvent.objects.filter(pk=skipped.pk).update(received_at=at("2026-11-28", 13))

    with django_queries() as queries:
        first = reconcile()
    assert first.state == ReconciliationRunState.COMPLETED
    assert first.found_by_kind == {
        "activeNotBillable": 1,
        "billableNotActive": 1,
        "priceMismatch": 1,
        "recurringMissing": 1,
        "usageNotRated": 1,
        "usageRejected": 1,
    }
    assert len(queries) < 20 * (first.units_total + 1)  # a few statements per unit, not per row
    (leak,) = cases(CaseKind.ACTIVE_NOT_BILLABLE)
    assert (leak.product_id, leak.billing_account_id) == (pending.pk, pending.billing_account_id)
    assert leak.amount_at_risk == Decimal("30.00")
    assert leak.currency == "EUR"
    assert cases(CaseKind.BILLABLE_NOT_ACTIVE)[0].product_id == undelivered.pk
    (price,) = cases(CaseKind.PRICE_MISMATCH)
    assert price.product_id == mismatched.pk
    assert price.amount_at_risk == Decimal("5.00")
    assert price.evidence["periodStart"] == "2026-11-01T00:00:00+00:00"  # the latest
    assert price.evidence["charged"] == "30.0000"
    assert price.evidence["expected"] == "25.00"
    (missing,) = cases(CaseKind.RECURRING_MISSING)
    assert missing.product_id == unbilled_line.pk
    assert missing.evidence["periodStart"] == "2026-11-01T00:00:00+00:00"
    (not_rated,) = cases(CaseKind.USAGE_NOT_RATED)
    assert (not_rated.day, not_rated.rating_group) == (date(2026, 11, 28), "DATA_5G_PREMIUM")
    assert not_rated.evidence["records"] == 1
    assert not_rated.evidence["day"]["received"] == 1
    (rejected,) = cases(CaseKind.USAGE_REJECTED)
    assert rejected.day == date(2026, 12, 1)
    assert rejected.evidence["reason"] == "noBillableProduct"
    assert rejected.evidence["records"] == 2
    assert rejected.evidence["byRatingGroup"]["DATA_5G_PREMIUM"]["rejected"] == 2

    # Actions: each refuses another kind.
    for action, case in (
        (case_start_billing, price),
        (case_rerate_day, leak),
        (case_remove_orphan_config, rejected),
    ):
        with pytest.raises(DomainError):
            action(case, by="finance1")
    started = case_start_billing(leak, by="finance1")
    assert started.state == CaseState.RESOLVED
    pending.refresh_from_db()
    assert pending.status == ProductStatus.ACTIVE
    assert pending.start_date == pending_service.start_date
    with pytest.raises(DomainError):
        case_start_billing(started, by="finance1")  # resolved already
    rerated = case_rerate_day(rejected, by="finance1")
    assert rerated.state == CaseState.RESOLVED
    assert UsageEvent.objects.filter(event_id__startswith="rej-", status="received").count() == 2
    assert "2 tried, 2 now chargeable" in rerated.events.get(type=CaseEventType.ACTION).text
    case_rerate_day(not_rated, by="finance1")
    assert CustomerBillOnDemand.objects.filter(billing_account=account).count() == 1

    # Found again: the same cases, none new; the fixed ones stay resolved.
    ProductOfferingPrice.objects.filter(pk=monthly.pk).update(amount=Decimal("30.00"))
    second = reconcile()
    assert second.cases_opened == 0
    assert second.cases_closed == 1  # the price
    price.refresh_from_db()
    assert price.state == CaseState.RESOLVED
    assert RevenueCase.objects.count() == 6
    assert set(RevenueCase.objects.filter(state=CaseState.OPEN).values_list("kind", flat=True)) == {
        "billableNotActive",
        "recurringMissing",
        "usageNotRated",
    }

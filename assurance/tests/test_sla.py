"""SLA measurement and credits: outage minutes from a pinned incident timeline (down, degraded
at its weight, maintenance on the root resource excluded, clipped to the period), latency from
quality-of-service alarms, and the credit once on the next bill however often the evaluation
and the bill run run."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from assurance.choices import AlarmType, ServiceImpact
from assurance.models import Alarm, Incident, IncidentService, MaintenanceWindow
from assurance.sla import outages, sla_evaluate, sla_periods, sla_products
from assurance.tasks import evaluate_slas
from billing.models import AppliedCharge, CustomerBill, SlaCredit
from billing.services import bill_run_start
from billing.tests.factories import active_product
from catalog.models import ServiceLevelAgreement
from catalog.tests.factories import shared_five_g_offering
from inventory.tests.factories import GnbFactory

pytestmark = pytest.mark.django_db
OCTOBER = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(autouse=True)
def pinned_clock():
    with time_machine.travel(utc(2026, 12, 3, 10, 0), tick=False):
        yield


@pytest.fixture
def sla():
    return ServiceLevelAgreement.objects.create(
        offering=shared_five_g_offering(),
        name="Enterprise Gold",
        availability_target=Decimal("99.9"),
        credit_bands=[
            {"availabilityBelow": "99.9", "creditPercent": "10"},
            {"availabilityBelow": "99", "creditPercent": "25"},
            {"availabilityBelow": "95", "creditPercent": "50"},
        ],
    )


@pytest.fixture
def product(sla):
    return active_product(start_date=utc(2026, 9, 1))


def impact(service, kind, start, end, *, root=None):
    incident = Incident.objects.create(
        name=f"{kind} from {start}", first_alarm_time=start, root_resource=root
    )
    IncidentService.objects.create(
        incident=incident, service=service, impact=kind, started_at=start, ended_at=end
    )
    return incident


@pytest.fixture
def timeline(product):
    """October of the product's service: 2 h down with 30 min of it under maintenance on the
    incident's root (90 min), 2 h degraded (60 min at 0.5), and the last 30 min of an hour down
    across the end of the month (30 min in October): 180 minutes."""
    service = product.services.get()
    cable = GnbFactory()
    MaintenanceWindow.objects.create(
        resource=cable, starts_at=utc(2026, 10, 10, 11, 0), ends_at=utc(2026, 10, 10, 11, 30)
    )
    # Planned work on another resource does not excuse this incident.
    MaintenanceWindow.objects.create(
        resource=GnbFactory(), starts_at=utc(2026, 10, 20, 0, 0), ends_at=utc(2026, 10, 20, 2, 0)
    )
    return [
        impact(
            service, ServiceImpact.DOWN, utc(2026, 10, 10, 10), utc(2026, 10, 10, 12), root=cable
        ),
        impact(service, ServiceImpact.DEGRADED, utc(2026, 10, 20, 0), utc(2026, 10, 20, 2)),
        impact(service, ServiceImpact.DOWN, utc(2026, 10, 31, 23, 30), utc(2026, 11, 1, 0, 30)),
    ]


def test_outage_minutes_from_the_incident_timeline(product, timeline):
    service = product.services.get()

    outage = outages({service.pk: service.pk}, *OCTOBER)[service.pk]

    assert (outage.down_minutes, outage.degraded_minutes) == (Decimal(120), Decimal(120))
    assert outage.outage_minutes == Decimal("180.00")
    assert outage.incident_ids == {incident.pk for incident in timeline}


def test_degraded_weight_is_a_setting(product, timeline, settings):
    settings.SLA_DEGRADED_WEIGHT = "0.25"
    service = product.services.get()

    assert outages({service.pk: service.pk}, *OCTOBER)[service.pk].outage_minutes == Decimal(150)


def test_overlapping_impacts_count_once_down_first(product):
    service = product.services.get()
    impact(service, ServiceImpact.DOWN, utc(2026, 10, 5, 10), utc(2026, 10, 5, 11))
    impact(service, ServiceImpact.DOWN, utc(2026, 10, 5, 10, 30), utc(2026, 10, 5, 11, 30))
    impact(service, ServiceImpact.DEGRADED, utc(2026, 10, 5, 11), utc(2026, 10, 5, 12))

    outage = outages({service.pk: service.pk}, *OCTOBER)[service.pk]

    assert (outage.down_minutes, outage.degraded_minutes) == (Decimal(90), Decimal(30))
    assert outage.outage_minutes == Decimal("105.00")


def test_maintenance_over_the_whole_outage_leaves_nothing(product):
    service = product.services.get()
    cable = GnbFactory()
    MaintenanceWindow.objects.create(
        resource=cable, starts_at=utc(2026, 10, 5, 9), ends_at=utc(2026, 10, 5, 13)
    )
    impact(service, ServiceImpact.DOWN, utc(2026, 10, 5, 10), utc(2026, 10, 5, 12), root=cable)

    assert outages({service.pk: service.pk}, *OCTOBER) == {}


def test_period_figures_and_breach(product, timeline):
    (october,) = sla_periods(sla_products(), lambda product: [OCTOBER])

    # 180 of 44,640 minutes lost: 99.5968 %, below 99.9 (10 %) but not below 99 (25 %).
    assert october.achieved_availability == Decimal("99.5968")
    assert october.is_breached
    assert october.credit_percent == Decimal(10)


def test_latency_minutes_from_quality_of_service_alarms(product, sla):
    sla.latency_target_ms = 20
    sla.latency_allowance_minutes = 60
    sla.latency_credit_percent = Decimal(5)
    sla.save()
    service = product.services.get()
    for raised, cleared, cause in (
        (utc(2026, 10, 7, 8), utc(2026, 10, 7, 9, 30), "latencyThresholdCrossed"),
        (utc(2026, 10, 7, 9), utc(2026, 10, 7, 10), "latencyThresholdCrossed"),  # overlaps
        (utc(2026, 10, 8, 8), utc(2026, 10, 8, 18), "packetLossThresholdCrossed"),  # not latency
    ):
        alarm = Alarm.objects.create(
            source_system_id="kpi",
            alarmed_object_ref="link-1",
            alarm_type=AlarmType.QUALITY_OF_SERVICE,
            perceived_severity="major",
            probable_cause=cause,
            reduction_key=f"kpi:{raised}:{cause}",
            alarm_raised_time=raised,
            alarm_cleared_time=cleared,
            state="cleared",
        )
        alarm.affected_services.add(service)

    (october,) = sla_periods(sla_products(), lambda product: [OCTOBER])

    assert october.outage.latency_minutes == Decimal("120.00")
    assert october.achieved_availability == Decimal(100)
    assert october.is_breached
    assert october.credit_percent == Decimal(5)


def test_credit_once_on_the_next_bill_however_often_it_runs(product, timeline):
    bill_run_start(as_of=date(2026, 11, 1))  # September and October, before the evaluation
    assert AppliedCharge.objects.filter(charge_key__startswith="slaCredit").count() == 0

    assert sla_evaluate(as_of=date(2026, 11, 2)) == 1
    assert sla_evaluate(as_of=date(2026, 11, 2)) == 0
    assert evaluate_slas() == 0  # today: October and November; November kept its target
    credit = SlaCredit.objects.get()
    assert (credit.period_start, credit.period_end) == OCTOBER
    assert (credit.credit_percent, credit.amount, credit.currency) == (
        Decimal(10),
        Decimal("3.0000"),
        "EUR",
    )
    assert credit.incident_ids == sorted(incident.pk for incident in timeline)
    assert credit.achieved_availability == Decimal("99.5968")

    bill_run_start(as_of=date(2026, 12, 1))
    bill_run_start(as_of=date(2026, 12, 3))

    line = AppliedCharge.objects.get(charge_key=credit.charge_key)
    assert (line.tax_excluded_amount, line.tax_amount) == (Decimal("-3.00"), Decimal("-0.60"))
    assert (line.period_start, line.period_end) == OCTOBER
    assert line.bill.period_start == utc(2026, 11, 1)  # the next bill, November's
    assert "Enterprise Gold" in line.description
    assert f"incidents {timeline[0].pk}" in line.description
    assert AppliedCharge.objects.filter(charge_key__startswith="slaCredit").count() == 1
    assert CustomerBill.objects.count() == 3

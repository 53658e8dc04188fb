"""The demo's alarms: a few active ones on gNBs that carry customers, as the NOC would see on a
normal day, raised through the alarm service (so correlated to the services they affect)."""

import random
from datetime import timedelta

from assurance import services
from assurance.choices import Severity
from assurance.kpis.generator import kpi_series_generate
from assurance.models import Alarm, KpiThreshold
from assurance.models.kpis import KpiMetric
from inventory import selectors as inventory_selectors
from inventory.paths import service_paths_rebuild
from telco import clock
from telco.demo import SEED_USER

ALARM_CAUSES = [
    ("communicationsAlarm", "lossOfSignal", "critical", "S1 link down"),
    ("equipmentAlarm", "powerProblem", "major", "Rectifier module failure"),
    ("qualityOfServiceAlarm", "thresholdCrossed", "minor", "PRB utilisation above 90%"),
    ("environmentalAlarm", "temperatureUnacceptable", "warning", "Cabinet temperature high"),
]


def ensure_alarms(rng: random.Random) -> int:
    """A few active alarms on gNBs that carry customers; none when the demo's alarms exist.
    Returns the alarms raised."""
    if Alarm.objects.filter(source_system_id="demo-ems").exists():
        return 0
    # The seeded services were bound in bulk: their paths (what an incident's impact reads).
    service_paths_rebuild()
    now = clock.now()
    busiest = list(inventory_selectors.elements_carrying_services("gnb")[:40])
    created = 0
    for element in rng.sample(busiest, min(6, len(busiest))):
        alarm_type, cause, severity, problem = rng.choice(ALARM_CAUSES)
        _, is_new = services.alarm_raise(
            source_system_id="demo-ems",
            alarmed_object_id=str(element.pk),
            alarmed_object_type="gNB",
            alarm_type=alarm_type,
            perceived_severity=severity,
            probable_cause=cause,
            specific_problem=problem,
            alarm_raised_time=now - timedelta(minutes=rng.randint(5, 600)),
            by=SEED_USER,
        )
        created += is_new
    return created


# The thresholds a NOC starts with: PRB utilisation and latency raise qualityOfServiceAlarms.
KPI_THRESHOLDS = [
    (KpiMetric.PRB_UTILISATION, 90.0, 75.0, 3, Severity.MAJOR),
    (KpiMetric.LATENCY, 40.0, 25.0, 3, Severity.MINOR),
    (KpiMetric.PACKET_LOSS, 2.0, 0.5, 3, Severity.MINOR),
]
CONGESTED_CELLS = 2


def ensure_kpis() -> int:
    """The default KPI thresholds (made when missing) and the last day of KPIs from the lab
    generator at the 15-minute granularity element managers report in, two busy cells congested
    at their busy hours (a span generated again is all duplicates). Returns the samples stored."""
    for metric, raise_above, clear_below, raise_after, severity in KPI_THRESHOLDS:
        KpiThreshold.objects.get_or_create(
            metric=metric,
            resource=None,
            defaults={
                "raise_above": raise_above,
                "clear_below": clear_below,
                "raise_after": raise_after,
                "severity": severity,
            },
        )
    busiest = inventory_selectors.elements_carrying_services("gnb")[:CONGESTED_CELLS]
    congested = {element.name for element in busiest}
    return kpi_series_generate(hours=24, step_minutes=15, congested_cells=congested).stored

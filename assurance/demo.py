"""The demo's alarms: a few active ones on gNBs that carry customers, as the NOC would see on a
normal day, raised through the alarm service (so correlated to the services they affect)."""

import random
from datetime import timedelta

from assurance import services
from assurance.models import Alarm
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

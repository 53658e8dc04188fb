"""`manage.py cable_cut CABLE-NORTH-RING-1 [--clear]`: the demo's fault storm.

The cable's links and the equipment behind them alarm, then the cable itself (root last), in one
batch through the bulk ingest (as a TMF642 array POST would); correlation makes one incident,
printed with its impact. `--clear` clears those alarms again (the incident resolves once
confirmed, or is cancelled as a blip before).
"""

from django.core.management.base import BaseCommand, CommandError

from assurance.models import Alarm, Incident
from assurance.services.ingest import AlarmReport, alarms_ingest
from inventory import selectors as inventory_selectors
from inventory.topology import resources_impacted
from telco import clock
from telco.money import round_money

SOURCE = "ems-transport"


class Command(BaseCommand):
    help = "Cut a cable (alarm storm, root last) or clear the cut; print the incident."

    def add_arguments(self, parser):
        parser.add_argument("cable", help="The cable's name (or id), e.g. CABLE-NORTH-RING-1")
        parser.add_argument("--clear", action="store_true", help="Clear the cut's alarms")

    def handle(self, *args, cable, clear, **options):
        resource = inventory_selectors.resource_by_reference(cable)
        if resource is None:
            raise CommandError(f"No resource is named {cable}.")
        if clear:
            active = Alarm.objects.filter(source_system_id=SOURCE).exclude(state="cleared")
            reports = [
                AlarmReport(
                    source_system_id=SOURCE,
                    alarmed_object_id=alarm.alarmed_object_ref,
                    alarm_type=alarm.alarm_type,
                    probable_cause=alarm.probable_cause,
                    is_clear=True,
                )
                for alarm in active
            ]
        else:
            # What the cut takes down (links, the devices behind them): their alarms first.
            down = resources_impacted([resource.pk]).filter(parent__isnull=True)
            down = down.exclude(pk=resource.pk).order_by("pk")
            now = clock.now()
            reports = [
                AlarmReport(
                    source_system_id=SOURCE,
                    alarmed_object_id=str(element.pk),
                    alarm_type="equipmentAlarm",
                    probable_cause="lossOfSignal",
                    perceived_severity="major",
                    alarm_raised_time=now,
                )
                for element in down
            ]
            links = resources_impacted([resource.pk]).filter(parent=resource).order_by("pk")
            reports += [
                AlarmReport(
                    source_system_id=SOURCE,
                    alarmed_object_id=str(link.pk),
                    alarm_type="communicationsAlarm",
                    probable_cause="linkDown",
                    perceived_severity="major",
                    alarm_raised_time=now,
                )
                for link in links
            ]
            reports.append(
                AlarmReport(
                    source_system_id=SOURCE,
                    alarmed_object_id=str(resource.pk),
                    alarm_type="communicationsAlarm",
                    probable_cause="cableCut",
                    perceived_severity="critical",
                    alarm_raised_time=now,
                )
            )
        results = alarms_ingest(reports, by="cable_cut")
        outcomes: dict[str, int] = {}
        for result in results:
            outcome = getattr(result.outcome, "value", result.outcome)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        self.stdout.write(f"{len(reports)} alarm reports: {outcomes}")
        incident = Incident.objects.filter(root_resource=resource).order_by("-pk").first()
        if incident is None:
            self.stdout.write("No incident is rooted on this resource.")
            return
        self.stdout.write(
            f"Incident {incident.pk} ({incident.state}): {incident.name}; "
            f"{incident.alarms.count()} alarms; {incident.services_down} services down, "
            f"{incident.services_degraded} degraded; {incident.customers_count} customers "
            f"{incident.customers_by_segment}; revenue at risk "
            f"{round_money(incident.revenue_at_risk, incident.currency)} "
            f"{incident.currency}/month"
        )

"""`manage.py stage_revenue_scenarios`: a few leakage and fraud cases on the demo data, then one
reconciliation and one fraud evaluation, so the revenue-assurance pages have something to show.

What it injects (each the way the failure happens in a real operator's systems):
- a completion that never reached billing: a live 5G line whose product never started;
- a product billed with nothing delivered: its service terminated, the product still active;
- configuration an undo left behind: an entry on a gNB for a service we do not have;
- drift: a live line's bandwidth changed on its element behind the inventory's back;
- mediation: usage for a service nobody knows (rejected, by cause);
- fraud (PostgreSQL): a usage spike against a line's own week, and a SIM box (many numbers,
  short calls) on another.
Run it on a demo (`seed_demo` first); running it again stages nothing twice.
"""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from billing.models import RevenueCase, UsageEvent
from billing.services import fraud, reconciliation
from billing.services.usage import usage_ingest
from catalog.choices import PriceType
from inventory import services as inventory_services
from inventory.choices import ProductStatus, ServiceState
from inventory.models import ProductInstance, Service
from inventory.network import driver_for
from inventory.network.base import NetworkError
from telco import clock

STAGED = "staged"  # the marker in staged event ids and element references


def _data_group(product: ProductInstance) -> str:
    """The data rating group the line's offering prices."""
    return (
        product.product_offering.prices.filter(
            price_type=PriceType.USAGE, rating_group__startswith="DATA"
        )
        .values_list("rating_group", flat=True)
        .first()
    )


class Command(BaseCommand):
    help = "Stage a few leakage and fraud scenarios on the demo data and reconcile once."

    def handle(self, *args, **options):
        lines = list(
            ProductInstance.objects.filter(
                status=ProductStatus.ACTIVE,
                start_date__isnull=False,
                services__state=ServiceState.ACTIVE,
                services__parent__isnull=True,
                product_offering__prices__price_type=PriceType.USAGE,
                product_offering__prices__rating_group__startswith="DATA",
            )
            .distinct()
            .order_by("pk")[:5]
        )
        if len(lines) < 5:
            raise CommandError("Seed the demo first (manage.py seed_demo): too few live lines.")
        leaking, undelivered, drifting, spiking, sim_box = lines
        if not UsageEvent.objects.filter(event_id__startswith=STAGED).exists():
            self._stage(leaking, undelivered, drifting, spiking, sim_box)
        else:
            self.stdout.write("already staged: reconciling again")
        run = reconciliation.reconciliation_create(by="stage_revenue_scenarios")
        run = reconciliation.reconciliation_run_here(run_id=run.pk)
        self.stdout.write(
            f"reconciliation {run.pk}: {run.state}, found {run.found_by_kind or 'nothing'}"
        )
        if fraud.fraud_rules_available():
            outcome = fraud.fraud_rules_evaluate()
            self.stdout.write(f"fraud rules: {outcome.hits}")
        else:
            self.stdout.write("fraud rules: skipped (they need PostgreSQL)")
        open_cases = RevenueCase.objects.exclude(state="resolved").count()
        self.stdout.write(
            self.style.SUCCESS(f"{open_cases} open cases: see /finance/revenue-assurance/")
        )

    def _stage(self, leaking, undelivered, drifting, spiking, sim_box):
        now = clock.now()
        with transaction.atomic():
            ProductInstance.objects.filter(pk=leaking.pk).update(
                status=ProductStatus.PENDING_ACTIVE, start_date=None
            )
            Service.objects.filter(product=undelivered).update(
                state=ServiceState.TERMINATED, end_date=now
            )
        self.stdout.write(f"completion lost: {leaking}; billed, not delivered: {undelivered}")
        self._stage_network(drifting)
        usage_ingest(
            event_id=f"{STAGED}-unknown-1",
            service_id="SVC-NOBODY-KNOWS",
            usage_date=now - timedelta(days=1),
            volume=Decimal(2),
            unit="GB",
            rating_group=_data_group(spiking),
        )
        spike = (str(spiking.services.get(parent__isnull=True).pk), _data_group(spiking))
        for day in range(1, 8):  # a week of one GB a day, then 40 GB in the last hour
            self._data(*spike, f"{STAGED}-week-{day}", now - timedelta(days=day), "1")
        self._data(*spike, f"{STAGED}-spike", now - timedelta(minutes=20), "40")
        box_service = str(sim_box.services.get(parent__isnull=True).pk)
        for number in range(60):
            usage_ingest(
                event_id=f"{STAGED}-call-{number}",
                service_id=box_service,
                usage_date=now - timedelta(minutes=50, seconds=-number * 30),
                volume=Decimal(20),
                unit="seconds",
                rating_group="VOICE",
                usage_type="voice",
                usage_specification_id="voice-call",
                destination=f"+4477009{number:05d}",
            )
        self.stdout.write(f"usage: a spike on {spiking}, a SIM box on {sim_box}")

    def _data(self, service_id: str, group: str, event_id: str, at, gigabytes: str) -> None:
        usage_ingest(
            event_id=event_id,
            service_id=service_id,
            usage_date=at,
            volume=Decimal(gigabytes),
            unit="GB",
            rating_group=group,
        )

    def _stage_network(self, drifting) -> None:
        """An entry no service has on the line's element, and the line's bandwidth changed."""
        service = drifting.services.get(parent__isnull=True)
        placed = [
            (element, expected[str(service.pk)])
            for element in inventory_services.elements_holding_services().filter(
                bindings__service=service
            )
            if str(service.pk) in (expected := inventory_services.element_expected_configs(element))
        ]
        if not placed:
            self.stdout.write(f"network: {drifting} is on no element; nothing staged there")
            return
        element, line = placed[0]
        driver = driver_for(element.resource_kind)
        try:
            driver.activate(
                element=element.name,
                idempotency_key=f"{STAGED}-orphan",
                service_ref=f"{STAGED}-{service.pk}",
                payload=line.config,
            )
            changed = {**line.config, "bandwidth": "20Mbps"}
            driver.modify(
                element=element.name,
                idempotency_key=f"{STAGED}-drift",
                service_ref=str(service.pk),
                payload=changed,
            )
        except NetworkError as error:
            self.stdout.write(f"network: {element.name} did not answer ({error}); not staged")
            return
        self.stdout.write(
            f"network: an orphan entry and {drifting}'s bandwidth changed on {element.name} "
            f"(lab at {settings.LABNET_URL})"
        )

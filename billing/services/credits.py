"""SLA credits: what a broken SLA owes, recorded once per product and period, and the
negative lines that carry them onto the account's next bill."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, Model, OuterRef

from billing.choices import ChargeType
from billing.models import AppliedCharge, SlaCredit
from billing.services.charges import ChargeLine
from catalog.choices import PriceType
from catalog.selectors import prices_in_force
from inventory import selectors as inventory_selectors
from telco.money import plain_decimal, round_rating


@dataclass(frozen=True)
class SlaBreach:
    """A product's service that broke its SLA in [period_start, period_end), as assurance
    measured it: the figures the credit line shows and the percent it credits."""

    product_id: int
    sla_id: int
    sla_name: str
    period_start: datetime
    period_end: datetime
    availability_target: Decimal
    achieved_availability: Decimal
    outage_minutes: Decimal
    latency_minutes: Decimal
    credit_percent: Decimal
    incident_ids: tuple[int, ...] = field(default=())


def sla_credit_key(*, product_id: int, period_start: datetime) -> str:
    """The charge key of a product's SLA credit for the period from `period_start`."""
    return f"slaCredit:{product_id}:{period_start:%Y%m%d%H%M}"


def monthly_recurring_charges(product_ids: list[int], *, at: datetime) -> dict[int, tuple]:
    """Per product id: (monthly recurring charge, currency) of its offering's recurring prices
    in force at `at`, a price per unit times the units the product holds (as its bill charges
    it), in two queries (a product without one is absent)."""
    products = (
        inventory_selectors.product_list()
        .select_related(None)
        .prefetch_related(None)
        .filter(pk__in=product_ids)
        .only("pk", "product_offering_id", "characteristics")
    )
    prices = defaultdict(list)
    for price in prices_in_force(at=at).filter(
        product_offering_id__in={product.product_offering_id for product in products},
        price_type=PriceType.RECURRING,
    ):
        prices[price.product_offering_id].append(price)
    charges = {}
    for product in products:
        monthly, currency = Decimal(0), None
        for price in prices[product.product_offering_id]:
            # A fee per site of a product naming none counts nothing (its bill says why).
            monthly += price.amount_per_month * price.units_in(product.characteristics)
            currency = currency or price.currency
        if monthly > 0:
            charges[product.pk] = (monthly, currency)
    return charges


def sla_credits_record(breaches: list[SlaBreach]) -> int:
    """Record the credits `breaches` owe, once per product and period however often it runs
    (a breach already credited is left as it was); returns how many are new. The amount is
    the credit percent of the product's monthly recurring charge at the period's start,
    rated to 4 places (the bill line rounds it once). A breach with a zero percent, or of a
    product without a recurring charge, owes nothing."""
    breaches = [b for b in breaches if b.credit_percent > 0]
    if not breaches:
        return 0
    rows = []
    by_start = defaultdict(list)
    for breach in breaches:
        by_start[breach.period_start].append(breach)
    accounts = dict(
        inventory_selectors.product_list()
        .filter(pk__in={b.product_id for b in breaches})
        .values_list("pk", "billing_account_id")
    )
    for start, group in by_start.items():
        charges = monthly_recurring_charges([b.product_id for b in group], at=start)
        for breach in group:
            if breach.product_id not in charges:
                continue
            monthly, currency = charges[breach.product_id]
            amount = round_rating(monthly * breach.credit_percent / 100)
            if amount <= 0:
                continue
            rows.append(
                SlaCredit(
                    billing_account_id=accounts[breach.product_id],
                    product_id=breach.product_id,
                    sla_id=breach.sla_id,
                    period_start=breach.period_start,
                    period_end=breach.period_end,
                    incident_ids=sorted(breach.incident_ids),
                    availability_target=breach.availability_target,
                    achieved_availability=breach.achieved_availability,
                    outage_minutes=breach.outage_minutes,
                    latency_minutes=breach.latency_minutes,
                    credit_percent=breach.credit_percent,
                    monthly_recurring_charge=round_rating(monthly),
                    amount=amount,
                    currency=currency,
                    description=_description(breach)[:300],
                    charge_key=sla_credit_key(
                        product_id=breach.product_id, period_start=breach.period_start
                    ),
                )
            )
    with transaction.atomic():
        before = SlaCredit.objects.filter(charge_key__in=[r.charge_key for r in rows]).count()
        SlaCredit.objects.bulk_create(rows, ignore_conflicts=True)
        after = SlaCredit.objects.filter(charge_key__in=[r.charge_key for r in rows]).count()
    return after - before


def _description(breach: SlaBreach) -> str:
    text = (
        f"{breach.sla_name} {breach.period_start:%Y-%m-%d} to {breach.period_end:%Y-%m-%d}: "
        f"availability {plain_decimal(breach.achieved_availability)}% (target "
        f"{plain_decimal(breach.availability_target)}%), "
        f"{plain_decimal(breach.outage_minutes)} min down"
    )
    if breach.latency_minutes:
        text += f", {plain_decimal(breach.latency_minutes)} min over latency target"
    if breach.incident_ids:
        text += "; incidents " + ", ".join(str(i) for i in sorted(breach.incident_ids))
    return text


def unbilled_sla_credits():
    """SLA credits no bill line carries yet."""
    return SlaCredit.objects.filter(
        ~Exists(AppliedCharge.objects.filter(charge_key=OuterRef("charge_key")))
    )


def sla_credit_lines(*, products: list[Model], end: datetime) -> list[ChargeLine]:
    """The negative lines of the products' unbilled SLA credits for periods ended by `end`,
    locked until the bill commits: a credit goes on the first bill made after it."""
    by_id = {p.pk: p for p in products}
    credits = (
        unbilled_sla_credits()
        .select_for_update(of=("self",))
        .select_related("sla")
        .filter(product__in=list(by_id), period_end__lte=end)
        .order_by("id")
    )
    return [sla_credit_line(credit=credit, product=by_id[credit.product_id]) for credit in credits]


def sla_credit_line(*, credit: SlaCredit, product: Model) -> ChargeLine:
    """The negative bill line of one SLA credit (its `sla` read with it)."""
    return ChargeLine(
        product=product,
        charge_type=ChargeType.RECURRING,
        name=f"SLA credit ({plain_decimal(credit.credit_percent)}%)",
        description=credit.description,
        quantity=Decimal(1),
        unit="",
        currency=credit.currency,
        amount=-credit.amount,
        charge_key=credit.charge_key,
        date=credit.period_end,
        coverage=(credit.period_start, credit.period_end),
    )

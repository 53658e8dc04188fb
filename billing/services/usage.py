"""Usage ingest: store every usage record a network reports, guided to the product that pays
for it and normalised to its price's unit, or rejected with the reason."""

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Model

from billing.choices import UsageRejectionReason, UsageStatus
from billing.models import UsageEvent, UsageSpecification
from billing.services.fraud import fraud_evaluation_enqueue
from billing.services.periods import BILLABLE_STATUSES
from catalog.choices import PriceType
from catalog.selectors import offering_prices_in_force
from inventory import selectors as inventory_selectors
from inventory.choices import ProductStatus
from telco.exceptions import Conflict, DomainError
from telco.money import plain_decimal
from telco.selectors import row_with_id

# Units a network may report volume in, as a number of bytes (decimal prefixes: 1 GB = 10^9 B).
UNIT_BYTES = {
    "bytes": Decimal(1),
    "KB": Decimal(10) ** 3,
    "MB": Decimal(10) ** 6,
    "GB": Decimal(10) ** 9,
}
RATED_VOLUME_PLACES = Decimal("0.000001")  # UsageEvent.rated_volume keeps 6 decimals
# Volumes the usage columns hold (20 digits, 6 of them decimals): anything larger is refused.
MAX_VOLUME = Decimal(10) ** 14


def convert_volume(volume: Decimal, unit: str, to_unit: str) -> Decimal:
    """`volume` in `unit` expressed in `to_unit`, exact Decimal arithmetic, 6 places."""
    converted = volume * UNIT_BYTES[unit] / UNIT_BYTES[to_unit]
    return converted.quantize(RATED_VOLUME_PLACES)


def parse_volume(raw) -> Decimal:
    """A volume characteristic as a non-negative finite Decimal; ValueError otherwise."""
    if isinstance(raw, bool) or raw is None:
        raise ValueError("must be a number")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ValueError("must be a number") from None
    if not value.is_finite() or value < 0:
        raise ValueError("must be a number of zero or more")
    # Rounded as the column stores it, so what is checked here is what the database gets.
    if value >= MAX_VOLUME or value.quantize(RATED_VOLUME_PLACES) >= MAX_VOLUME:
        raise ValueError(f"must be less than {plain_decimal(MAX_VOLUME)}")
    return value.quantize(RATED_VOLUME_PLACES)


def usage_price(*, product: Model, rating_group: str, at: datetime) -> Model | None:
    """The usage price (catalog's) of the product's offering in force at `at` that prices
    `rating_group`, or None."""
    prices = offering_prices_in_force(offering=product.product_offering, at=at)
    return next(
        (p for p in prices if p.price_type == PriceType.USAGE and p.rating_group == rating_group),
        None,
    )


def usage_ingest(
    *,
    event_id: str = "",
    service_id: str = "",
    usage_date: datetime | None = None,
    volume: Decimal | None = None,
    unit: str = "",
    rating_group: str = "",
    usage_type: str = "data",
    usage_specification_id: str = "",
    destination: str = "",
) -> tuple[UsageEvent, bool]:
    """Store one usage record, always; the same `event_id` again with the same content returns
    the stored one (created=False), with different content it is kept as a rejected
    `duplicateEventConflict` record and refused (Conflict).

    A record is `received`, and the bill run charges it, when it has an event id, a date, a
    volume in a known unit and a service whose product was billable at `usage_date` (started,
    not terminated nor suspended then; late usage is charged) and whose offering prices the
    rating group; the volume is normalised to that price's unit
    into `rated_volume`. `destination` is the number a call or message went to (what the
    SIM-box fraud rule counts). Any other record is stored `rejected` with the reason, never billed.
    Refused (DomainError, nothing stored): a usage specification that does not exist, and a
    volume too large to store once normalised.
    """
    content = (service_id, usage_date, volume, unit, rating_group, usage_type)
    content += (usage_specification_id or None, destination)
    if event_id:
        existing = UsageEvent.objects.filter(event_id=event_id).first()
        if existing is not None:
            return _replay_or_conflict(existing, content), False
    specification = None
    if usage_specification_id:
        specification = UsageSpecification.objects.filter(pk=usage_specification_id).first()
        if specification is None:
            raise DomainError(
                f"Usage specification '{usage_specification_id}' does not exist.",
                field="usageSpecification.id",
            )
    event = UsageEvent(
        event_id=event_id or None,
        usage_date=usage_date,
        usage_type=usage_type,
        usage_specification=specification,
        rating_group=rating_group,
        volume=volume,
        unit=unit,
        destination=destination,
    )
    rejection = _guide_usage(event, service_id)
    if rejection is not None:
        event.status = UsageStatus.REJECTED
        event.rejection_reason, event.rejection_message = rejection
    try:
        # The savepoint lets a concurrent twin's unique violation fall back to reading its row.
        with transaction.atomic():
            event.save()
    except IntegrityError:
        existing = UsageEvent.objects.filter(event_id=event_id).first() if event_id else None
        if existing is None:
            raise
        return _replay_or_conflict(existing, content), False
    # The fraud rules read usage as it is stored (billing.services.fraud).
    fraud_evaluation_enqueue()
    return event, True


def _replay_or_conflict(existing: UsageEvent, content: tuple) -> UsageEvent:
    """`existing` when the record sent again carries the same content (a replay); otherwise
    the arrival is kept as a rejected `duplicateEventConflict` record pointing at `existing`,
    and refused (Conflict, 409)."""
    stored = (
        str(existing.service_id) if existing.service_id else existing.reported_service_id,
        existing.usage_date,
        existing.volume,
        existing.unit,
        existing.rating_group,
        existing.usage_type,
        existing.usage_specification_id,
        existing.destination,
    )
    if stored == content:
        return existing
    service_id, usage_date, volume, unit, rating_group, usage_type, specification_id = content[:7]
    message = (
        f"eventId '{existing.event_id}' was stored before (usage {existing.pk}) "
        "with different content."
    )
    UsageEvent.objects.create(
        reported_event_id=existing.event_id,
        duplicate_of=existing,
        reported_service_id=service_id,
        usage_date=usage_date,
        volume=volume,
        unit=unit,
        rating_group=rating_group,
        usage_type=usage_type,
        destination=content[7],
        usage_specification_id=specification_id
        if UsageSpecification.objects.filter(pk=specification_id).exists()
        else None,
        status=UsageStatus.REJECTED,
        rejection_reason=UsageRejectionReason.DUPLICATE_EVENT_CONFLICT,
        rejection_message=message[:300],
    )
    raise Conflict(message, field="usageCharacteristic.eventId")


def _billable_at(product: Model | None, at: datetime) -> str | None:
    """Why `product` was not billable at `at` (`{service}` names its service), or None when it
    was: started by then, not terminated yet, not suspended then, whatever its status now (so
    usage reported after a suspension or termination is still charged)."""
    if product is None or product.status not in BILLABLE_STATUSES or product.start_date is None:
        return "Service '{service}' has no active product to charge."
    if at < product.start_date:
        return f"Usage is dated before the product started ({product.start_date.isoformat()})."
    if product.termination_date is not None and at >= product.termination_date:
        return (
            "Usage is dated after the product was terminated "
            f"({product.termination_date.isoformat()})."
        )
    suspended = inventory_selectors.product_status_intervals(
        [product], status=ProductStatus.SUSPENDED, before=at + timedelta(microseconds=1)
    )
    if any(
        since <= at and (until is None or at < until)
        for since, until in suspended.get(product.pk, [])
    ):
        return "The product was suspended at the usageDate."
    return None


def _guide_usage(event: UsageEvent, service_id: str) -> tuple[str, str] | None:
    """Fill in the record's service, product, account and rated volume as far as they can be
    found; why the record cannot be charged, as (reason, message), or None when it can."""
    service = None
    if service_id:
        service = row_with_id(inventory_selectors.services_with_product(), service_id)
    product = None
    if service is None:
        event.reported_service_id = service_id
    else:
        event.service = service
        product = service.product or (service.parent.product if service.parent else None)
        if product is not None:
            event.product = product
            event.billing_account_id = product.billing_account_id
    given = (
        ("usageDate", event.usage_date),
        ("usageCharacteristic.eventId", event.event_id),
        ("usageCharacteristic.serviceId", service_id),
        ("usageCharacteristic.volume", event.volume),
        ("usageCharacteristic.unit", event.unit),
        ("usageCharacteristic.ratingGroup", event.rating_group),
    )
    missing = [name for name, value in given if value is None or value == ""]
    if missing:
        return UsageRejectionReason.MISSING_ATTRIBUTE, f"Missing {', '.join(missing)}."
    if event.unit not in UNIT_BYTES:
        return (
            UsageRejectionReason.UNKNOWN_UNIT,
            f"Unit '{event.unit}' is not one of {', '.join(UNIT_BYTES)}.",
        )
    if service is None:
        return UsageRejectionReason.UNKNOWN_SERVICE, f"Service '{service_id}' does not exist."
    billable = _billable_at(product, event.usage_date)
    if billable is not None:
        return UsageRejectionReason.NO_BILLABLE_PRODUCT, billable.replace("{service}", service_id)
    price = usage_price(product=product, rating_group=event.rating_group, at=event.usage_date)
    if price is None:
        return (
            UsageRejectionReason.UNPRICED_RATING_GROUP,
            f"Rating group '{event.rating_group}' is not priced on '{product.product_offering}'.",
        )
    if price.unit_of_measure not in UNIT_BYTES:
        return (
            UsageRejectionReason.UNPRICED_RATING_GROUP,
            f"The usage price is in '{price.unit_of_measure}', which volume cannot convert to.",
        )
    # Compared before rounding: a number too large for the column is too large to round too.
    factor = UNIT_BYTES[event.unit] / UNIT_BYTES[price.unit_of_measure]
    if (
        event.volume * factor >= MAX_VOLUME
        or convert_volume(event.volume, event.unit, price.unit_of_measure) >= MAX_VOLUME
    ):
        raise DomainError(
            f"{plain_decimal(event.volume)} {event.unit} is too large to store in "
            f"{price.unit_of_measure}.",
            field="usageCharacteristic.volume",
        )
    event.rated_volume = convert_volume(event.volume, event.unit, price.unit_of_measure)
    return None

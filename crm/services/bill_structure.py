"""TMF666 bill structure: the bill cycle day rule, the bill cycle specifications accounts are
billed on, and the reference rows a bill structure names (bill formats, presentation media)."""

from django.db import transaction

from crm.choices import (
    FIRST_BILL_CYCLE_DAY,
    LAST_BILL_CYCLE_DAY,
    BillingFrequency,
    cycle_specification_name,
)
from crm.models import BillFormat, BillingCycleSpecification, BillPresentationMedia
from crm.services.common import check_valid_for, refuse_unknown_attributes
from telco import clock
from telco.exceptions import Conflict, DomainError

CYCLE_SPECIFICATION_FIELDS = {
    "name",
    "description",
    "billing_date_shift",
    "billing_period",
    "frequency",
    "charge_date_offset",
    "credit_date_offset",
    "mailing_date_offset",
    "payment_due_date_offset",
    "valid_from",
    "valid_to",
}
# What an account's bills are cut by: these do not change once an account uses the cycle.
CYCLE_FIELDS_FIXED_IN_USE = {"billing_date_shift": "billingDateShift", "frequency": "frequency"}
# Offsets are days before or after the cycle date: a year either way is plenty.
OFFSET_FIELDS = {
    "charge_date_offset": "chargeDateOffset",
    "credit_date_offset": "creditDateOffset",
    "mailing_date_offset": "mailingDateOffset",
    "payment_due_date_offset": "paymentDueDateOffset",
}
MAX_OFFSET_DAYS = 366
REFERENCE_FIELDS = {"name", "description"}


def is_bill_cycle_day(day) -> bool:
    """`day` is a whole day of the month on which bills can be cut in every month."""
    return isinstance(day, int) and FIRST_BILL_CYCLE_DAY <= day <= LAST_BILL_CYCLE_DAY


def check_bill_cycle_day(day, *, field: str) -> None:
    """A bill cycle day is 1 to 28 (`crm.choices`), so that it exists in every month."""
    if not is_bill_cycle_day(day):
        raise DomainError(
            f"The bill cycle day is {FIRST_BILL_CYCLE_DAY} to {LAST_BILL_CYCLE_DAY}, so that it "
            "exists in every month.",
            field=field,
        )


def standard_cycle_specification(day: int) -> BillingCycleSpecification:
    """The cycle an account gets when only its day is given: the oldest monthly specification
    with that day (the seeded "Monthly, day N"), made when there is none."""
    check_bill_cycle_day(day, field="billStructure.cycleSpecification.billingDateShift")
    found = (
        BillingCycleSpecification.objects.filter(
            billing_date_shift=day, frequency=BillingFrequency.MONTHLY
        )
        .order_by("id")
        .first()
    )
    if found is not None:
        return found
    specification, _ = BillingCycleSpecification.objects.get_or_create(
        name=cycle_specification_name(day),
        defaults={
            "description": f"Bills cut on day {day} of every month.",
            "billing_date_shift": day,
            "billing_period": "month",
        },
    )
    if specification.billing_date_shift != day:
        raise DomainError(
            f"No monthly bill cycle specification has day {day}.", field="billCycleDay"
        )
    return specification


def check_cycle_usable(specification: BillingCycleSpecification, *, field: str) -> None:
    """An account can be billed on `specification`: it has a day and is in force."""
    if specification.billing_date_shift is None:
        raise DomainError(
            f"Bill cycle specification '{specification.name}' has no billingDateShift, so no "
            "account can be billed on it.",
            field=field,
        )
    now = clock.now()
    if specification.valid_to is not None and specification.valid_to <= now:
        raise DomainError(
            f"Bill cycle specification '{specification.name}' is no longer valid.", field=field
        )


def check_name_free(model, name: str, *, instance=None) -> str:
    """`name` stripped; refused when empty or when another row of `model` has it."""
    name = (name or "").strip()
    if not name:
        raise DomainError("A name is required.", field="name")
    taken = model.objects.filter(name=name)
    if instance is not None:
        taken = taken.exclude(pk=instance.pk)
    if taken.exists():
        raise DomainError(
            f"A {model._meta.verbose_name} named '{name}' already exists.", field="name"
        )
    return name


def _check_cycle_specification(specification: BillingCycleSpecification) -> None:
    day = specification.billing_date_shift
    if day is not None:
        check_bill_cycle_day(day, field="billingDateShift")
    if specification.frequency not in BillingFrequency.values:
        raise DomainError(
            f"Bill runs cut {', '.join(BillingFrequency.values)}; "
            f"'{specification.frequency}' is not a frequency.",
            field="frequency",
        )
    for name, attribute in OFFSET_FIELDS.items():
        offset = getattr(specification, name)
        if offset is not None and abs(offset) > MAX_OFFSET_DAYS:
            raise DomainError(
                f"An offset is at most {MAX_OFFSET_DAYS} days either way.", field=attribute
            )
    check_valid_for(specification.valid_from, specification.valid_to, "validFor.endDateTime")


@transaction.atomic
def billing_cycle_specification_create(*, name: str, **fields) -> BillingCycleSpecification:
    """Define a bill cycle; `fields` are BillingCycleSpecification columns."""
    refuse_unknown_attributes(fields, CYCLE_SPECIFICATION_FIELDS, "billing cycle specification")
    fields = {key: value for key, value in fields.items() if value is not None}
    specification = BillingCycleSpecification(**fields)
    specification.name = check_name_free(BillingCycleSpecification, name)
    _check_cycle_specification(specification)
    specification.save()
    return specification


@transaction.atomic
def billing_cycle_specification_update(
    *, specification: BillingCycleSpecification, changes: dict
) -> BillingCycleSpecification:
    """Change a bill cycle. Its day and frequency are fixed once an account uses it (Conflict):
    moving accounts to another day is a cycle change per account, which billing re-anchors."""
    refuse_unknown_attributes(changes, CYCLE_SPECIFICATION_FIELDS, "billing cycle specification")
    specification = BillingCycleSpecification.objects.select_for_update().get(pk=specification.pk)
    in_use = specification.billing_accounts.exists() or specification.accounts.exists()
    for field, attribute in CYCLE_FIELDS_FIXED_IN_USE.items():
        if field in changes and changes[field] != getattr(specification, field) and in_use:
            raise Conflict(
                "Accounts are billed on this cycle; create another specification and move "
                "the accounts to it.",
                field=attribute,
            )
    for field, value in changes.items():
        setattr(specification, field, value)
    if "name" in changes:
        specification.name = check_name_free(
            BillingCycleSpecification, changes["name"], instance=specification
        )
    _check_cycle_specification(specification)
    specification.save()
    return specification


def _reference_create(model, *, name: str, description: str = ""):
    row = model(name=check_name_free(model, name), description=description or "")
    row.save()
    return row


def _reference_update(model, row, changes: dict):
    refuse_unknown_attributes(changes, REFERENCE_FIELDS, model._meta.verbose_name)
    if "name" in changes:
        row.name = check_name_free(model, changes["name"], instance=row)
    if "description" in changes:
        row.description = changes["description"] or ""
    row.save()
    return row


@transaction.atomic
def bill_format_create(*, name: str, description: str = "") -> BillFormat:
    """Define a bill layout an account can name in its bill structure."""
    return _reference_create(BillFormat, name=name, description=description)


@transaction.atomic
def bill_format_update(*, bill_format: BillFormat, changes: dict) -> BillFormat:
    """Rename or redescribe a bill format (the accounts naming it follow)."""
    return _reference_update(BillFormat, bill_format, changes)


@transaction.atomic
def bill_presentation_media_create(*, name: str, description: str = "") -> BillPresentationMedia:
    """Define a way of delivering bills an account can name in its bill structure."""
    return _reference_create(BillPresentationMedia, name=name, description=description)


@transaction.atomic
def bill_presentation_media_update(
    *, media: BillPresentationMedia, changes: dict
) -> BillPresentationMedia:
    """Rename or redescribe a presentation medium (the accounts naming it follow)."""
    return _reference_update(BillPresentationMedia, media, changes)

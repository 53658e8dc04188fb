"""Billing accounts (TMF666 BillingAccount): opening one for a customer, its bill cycle, contacts,
payment method, credit limit and state."""

import uuid
from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction

from crm.choices import ACCOUNT_TRANSITIONS, ContactType, PaymentMethod
from crm.models import (
    BillFormat,
    BillingAccount,
    BillingAccountContact,
    BillingAccountStateChange,
    BillingCycleSpecification,
    BillPresentationMedia,
    Customer,
)
from crm.services.bill_structure import (
    check_bill_cycle_day,
    check_cycle_usable,
    standard_cycle_specification,
)
from crm.services.common import check_valid_for, refuse_unknown_attributes, save_children
from crm.services.contact_media import build_contact_media, medium_as_dict
from telco import clock
from telco.exceptions import DomainError
from telco.money import DEFAULT_CURRENCY
from telco.states import transition

BILLING_ACCOUNT_FIELDS = {
    "name",
    "bill_cycle_day",
    "cycle_specification",
    "bill_format",
    "presentation_media",
    "payment_method",
    "credit_limit",
    "state",
}
ACCOUNT_CONTACT_FIELDS = {
    "contact_name",
    "contact_type",
    "party_role_type",
    "contact_medium",
    "valid_from",
    "valid_to",
}


def credit_limit_in_account_currency(*, credit_limit: dict, currency: str) -> Decimal:
    """The amount of a credit limit given as money (`value`, `unit`): an account's credit limit
    is in the account's `currency`, so another unit is refused."""
    if credit_limit["unit"].upper() != currency.upper():
        raise DomainError(f"The account's currency is {currency}.", field="creditLimit.unit")
    return credit_limit["value"]


def _check_account(account: BillingAccount) -> None:
    if not account.name.strip():
        raise DomainError("A billing account needs a name.", field="name")
    check_bill_cycle_day(
        account.bill_cycle_day, field="billStructure.cycleSpecification.billingDateShift"
    )
    if account.payment_method not in PaymentMethod.values:
        raise DomainError(
            f"'{account.payment_method}' is not a payment method.", field="defaultPaymentMethod"
        )
    if account.credit_limit < 0:
        raise DomainError("A credit limit cannot be negative.", field="creditLimit.value")
    if len(account.currency) != 3 or not account.currency.isalpha():
        raise DomainError(f"'{account.currency}' is not an ISO 4217 currency.", field="currency")


def build_account_contacts(contacts: Iterable[dict]) -> list[BillingAccountContact]:
    """Unsaved, checked contacts (TMF666 Contact, as BillingAccountContact fields); their media
    are checked as a party's are."""
    rows = []
    for index, data in enumerate(contacts):
        path = f"contact[{index}]"
        data = dict(data)
        refuse_unknown_attributes(data, ACCOUNT_CONTACT_FIELDS, "contact")
        media = build_contact_media(data.pop("contact_medium", []), path=f"{path}.contactMedium")
        row = BillingAccountContact(**data)
        row.contact_name = row.contact_name.strip()
        if not row.contact_name:
            raise DomainError("A contact needs a name.", field=f"{path}.contactName")
        if row.contact_type not in ContactType.values:
            raise DomainError(
                f"The contact type is one of {', '.join(ContactType.values)}.",
                field=f"{path}.contactType",
            )
        check_valid_for(row.valid_from, row.valid_to, f"{path}.validFor.endDateTime")
        row.contact_medium = [medium_as_dict(medium) for medium in media]
        rows.append(row)
    return rows


def _set_cycle(
    account: BillingAccount,
    *,
    day: int | None,
    specification: BillingCycleSpecification | None,
) -> None:
    """Point the account at its bill cycle and keep `bill_cycle_day` (what billing reads) equal
    to the cycle's day. A specification given names the day; a day alone keeps the current
    specification when it has that day, else takes the standard one for the day."""
    if specification is not None:
        check_cycle_usable(specification, field="billStructure.cycleSpecification")
        if day is not None and day != specification.billing_date_shift:
            raise DomainError(
                f"Differs from billStructure.cycleSpecification, whose day is "
                f"{specification.billing_date_shift}.",
                field="billCycleDay",
            )
        account.cycle_specification = specification
        account.bill_cycle_day = specification.billing_date_shift
        return
    if day is None:
        return
    current = account.cycle_specification
    if current is None or current.billing_date_shift != day:
        account.cycle_specification = standard_cycle_specification(day)
    account.bill_cycle_day = day


@transaction.atomic
def billing_account_create(
    *,
    customer: Customer,
    name: str,
    currency: str = DEFAULT_CURRENCY,
    bill_cycle_day: int | None = None,
    cycle_specification: BillingCycleSpecification | None = None,
    bill_format: BillFormat | None = None,
    presentation_media: list[BillPresentationMedia] | None = None,
    payment_method: str = PaymentMethod.DIRECT_DEBIT,
    credit_limit: Decimal = Decimal(0),
    contacts: list[dict] | None = None,
) -> BillingAccount:
    """Open a billing account for a customer; its number (BA00000042) is generated here.

    Its bill cycle is `cycle_specification`, else the standard monthly cycle of
    `bill_cycle_day` (day 1 when neither is given). `contacts` are BillingAccountContact field
    dicts, each with `contact_medium` entries as a party's `contact_media`.
    """
    contact_rows = build_account_contacts(contacts or [])
    now = clock.now()
    account = BillingAccount(
        customer=customer,
        # A unique placeholder until the id, which the number is made of, exists.
        account_number=uuid.uuid4().hex[:20],
        name=name,
        currency=currency.upper(),
        bill_format=bill_format,
        payment_method=payment_method,
        credit_limit=credit_limit,
        created_at=now,
        last_update=now,
    )
    if cycle_specification is None and bill_cycle_day is None:
        bill_cycle_day = 1
    if bill_cycle_day is not None:
        account.bill_cycle_day = bill_cycle_day
    _check_account(account)
    _set_cycle(account, day=bill_cycle_day, specification=cycle_specification)
    account.save()
    account.account_number = f"BA{account.pk:08d}"
    account.save(update_fields=["account_number"])
    if presentation_media:
        account.presentation_media.set(presentation_media)
    save_children(contact_rows, account=account)
    return account


@transaction.atomic
def billing_account_update(
    *, account: BillingAccount, changes: dict, by: str = "", reason: str = ""
) -> BillingAccount:
    """Change an account's name, bill structure (cycle, format, presentation media), payment
    method, credit limit, or state.

    A new bill cycle day or cycle specification moves `bill_cycle_day` with it (`_set_cycle`).
    A state change goes through the account state table and leaves a history row.
    """
    changes = dict(changes)
    contacts = changes.pop("contacts", None)
    refuse_unknown_attributes(changes, BILLING_ACCOUNT_FIELDS, "billing account")
    target = changes.pop("state", None)
    media = changes.pop("presentation_media", None)
    day = changes.pop("bill_cycle_day", None)
    specification = changes.pop("cycle_specification", None)
    for field, value in changes.items():
        setattr(account, field, value)
    if day is not None:
        account.bill_cycle_day = day
    _check_account(account)
    if day is not None or specification is not None:
        _set_cycle(account, day=day, specification=specification)
        changes.update(bill_cycle_day=account.bill_cycle_day)
        changes.update(cycle_specification=account.cycle_specification)
    if contacts is not None:
        contacts = build_account_contacts(contacts)
        account.contacts.all().delete()
        save_children(contacts, account=account)
    if media is not None:
        account.presentation_media.set(media)
    if changes or contacts is not None or media is not None:
        account.last_update = clock.now()
        account.save(update_fields=[*changes, "last_update"])
    if target is not None and target != account.state:
        account = billing_account_set_state(account=account, state=target, by=by, reason=reason)
    return account


def billing_account_set_state(
    *, account: BillingAccount, state: str, by: str = "", reason: str = ""
) -> BillingAccount:
    """Suspend, resume or close an account (InvalidTransition, 409, for an illegal move)."""
    return transition(
        account,
        state,
        transitions=ACCOUNT_TRANSITIONS,
        history=BillingAccountStateChange,
        history_fk="account",
        by=by,
        reason=reason,
    )

"""TMF666 account management beyond the billing account: the reference rows a bill structure
names (bill cycle specifications, bill formats, bill presentation media) and the party,
settlement and financial accounts.

Kept apart from `crm.services` (parties, customers, billing accounts, care), which uses the
cycle rules here for billing accounts.
"""

from decimal import Decimal

from django.db import transaction

from crm.choices import (
    ACCOUNT_TRANSITIONS,
    AccountKind,
    AccountState,
    BillingFrequency,
    PaymentMethod,
)
from crm.models import (
    Account,
    AccountStateChange,
    BillFormat,
    BillingCycleSpecification,
    BillPresentationMedia,
    Party,
)
from crm.services import (
    _check_valid_for,
    _refuse_unknown,
    build_account_contacts,
    check_cycle_usable,
    standard_cycle_specification,
)
from telco import clock
from telco.exceptions import Conflict, DomainError
from telco.money import DEFAULT_CURRENCY
from telco.states import transition

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
ACCOUNT_FIELDS = {
    "name",
    "description",
    "account_type",
    "payment_status",
    "party",
    "currency",
    "credit_limit",
    "payment_method",
    "financial_account",
    "cycle_specification",
    "bill_format",
    "presentation_media",
    "contacts",
    "tax_exemptions",
    "payment_plans",
    "relationships",
}
# Attributes of the accounts a party holds or settles with, not of a financial account.
OWNED_ACCOUNT_ONLY = {
    "payment_status": "paymentStatus",
    "payment_method": "defaultPaymentMethod",
    "financial_account": "financialAccount",
    "cycle_specification": "billStructure.cycleSpecification",
    "bill_format": "billStructure.format",
    "presentation_media": "billStructure.presentationMedia",
    "payment_plans": "paymentPlan",
}


def _check_name_free(model, name: str, *, instance=None) -> str:
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
    if day is not None and not 1 <= day <= 28:
        raise DomainError(
            "The billing day is 1 to 28, so that it exists in every month.",
            field="billingDateShift",
        )
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
    _check_valid_for(specification.valid_from, specification.valid_to, "validFor.endDateTime")


@transaction.atomic
def billing_cycle_specification_create(*, name: str, **fields) -> BillingCycleSpecification:
    """Define a bill cycle; `fields` are BillingCycleSpecification columns."""
    _refuse_unknown(fields, CYCLE_SPECIFICATION_FIELDS, "billing cycle specification")
    fields = {key: value for key, value in fields.items() if value is not None}
    specification = BillingCycleSpecification(**fields)
    specification.name = _check_name_free(BillingCycleSpecification, name)
    _check_cycle_specification(specification)
    specification.save()
    return specification


@transaction.atomic
def billing_cycle_specification_update(
    *, specification: BillingCycleSpecification, changes: dict
) -> BillingCycleSpecification:
    """Change a bill cycle. Its day and frequency are fixed once an account uses it (Conflict):
    moving accounts to another day is a cycle change per account, which billing re-anchors."""
    _refuse_unknown(changes, CYCLE_SPECIFICATION_FIELDS, "billing cycle specification")
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
        specification.name = _check_name_free(
            BillingCycleSpecification, changes["name"], instance=specification
        )
    _check_cycle_specification(specification)
    specification.save()
    return specification


def _reference_create(model, *, name: str, description: str = ""):
    row = model(name=_check_name_free(model, name), description=description or "")
    row.save()
    return row


def _reference_update(model, row, changes: dict):
    _refuse_unknown(changes, REFERENCE_FIELDS, model._meta.verbose_name)
    if "name" in changes:
        row.name = _check_name_free(model, changes["name"], instance=row)
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


def _cycle_from_day(fields: dict) -> None:
    """A bill cycle given only by its day (`bill_cycle_day`) is the standard cycle of the day."""
    day = fields.pop("bill_cycle_day", None)
    if day is not None:
        fields["cycle_specification"] = standard_cycle_specification(day)


def _contact_documents(contacts: list[dict]) -> list[dict]:
    """Checked contacts (BillingAccountContact field dicts) as the JSON an Account keeps."""

    def moment(value):
        return value.isoformat() if value else None

    return [
        {
            "contact_name": row.contact_name,
            "contact_type": row.contact_type,
            "party_role_type": row.party_role_type,
            "contact_medium": row.contact_medium,
            "valid_from": moment(row.valid_from),
            "valid_to": moment(row.valid_to),
        }
        for row in build_account_contacts(contacts)
    ]


def _check_account(account: Account, media: list[BillPresentationMedia] | None = None) -> None:
    """`media` is the presentation media about to be set (a relation, so not on `account`)."""
    if not account.name.strip():
        raise DomainError("An account needs a name.", field="name")
    owned = account.kind != AccountKind.FINANCIAL
    if owned and account.party_id is None:
        raise DomainError("The owning party is required.", field="relatedParty")
    if not owned:
        for field, attribute in OWNED_ACCOUNT_ONLY.items():
            value = getattr(account, field) if field != "presentation_media" else media
            if value:
                raise DomainError("A financial account has no such attribute.", field=attribute)
    financial = account.financial_account
    if financial is not None and financial.kind != AccountKind.FINANCIAL:
        raise DomainError(
            f"Account '{financial.pk}' is not a financial account.", field="financialAccount.id"
        )
    if len(account.currency) != 3 or not account.currency.isalpha():
        raise DomainError(f"'{account.currency}' is not an ISO 4217 currency.", field="currency")
    if account.credit_limit is not None and account.credit_limit < 0:
        raise DomainError("A credit limit cannot be negative.", field="creditLimit.value")
    if account.payment_method and account.payment_method not in PaymentMethod.values:
        raise DomainError(
            f"'{account.payment_method}' is not a payment method.", field="defaultPaymentMethod"
        )
    if account.cycle_specification is not None:
        check_cycle_usable(account.cycle_specification, field="billStructure.cycleSpecification")


@transaction.atomic
def account_create(
    *,
    kind: str,
    name: str,
    party: Party | None = None,
    currency: str = DEFAULT_CURRENCY,
    credit_limit: Decimal | None = None,
    presentation_media: list[BillPresentationMedia] | None = None,
    **fields,
) -> Account:
    """Open a party, settlement or financial account (`kind`); it opens active.

    `fields` are other Account columns (description, account_type, financial_account,
    cycle_specification, bill_format, payment_method, and the JSON documents).
    """
    _refuse_unknown(fields, ACCOUNT_FIELDS | {"bill_cycle_day"}, "account")
    _cycle_from_day(fields)
    if "contacts" in fields:
        fields["contacts"] = _contact_documents(fields["contacts"])
    if kind not in AccountKind.values:
        raise DomainError(f"'{kind}' is not an account kind.")
    now = clock.now()
    account = Account(
        kind=kind,
        name=(name or "").strip(),
        party=party,
        currency=(currency or DEFAULT_CURRENCY).upper(),
        credit_limit=credit_limit,
        state=AccountState.ACTIVE,
        created_at=now,
        last_update=now,
        **fields,
    )
    _check_account(account, presentation_media)
    account.save()
    if presentation_media:
        account.presentation_media.set(presentation_media)
    return account


@transaction.atomic
def account_update(*, account: Account, changes: dict, by: str = "", reason: str = "") -> Account:
    """Change a party, settlement or financial account; `state` moves through the account
    state table (active, suspended, closed) and leaves a history row."""
    changes = dict(changes)
    target = changes.pop("state", None)
    media = changes.pop("presentation_media", None)
    _refuse_unknown(changes, (ACCOUNT_FIELDS - {"currency"}) | {"bill_cycle_day"}, "account")
    _cycle_from_day(changes)
    if "contacts" in changes:
        changes["contacts"] = _contact_documents(changes["contacts"])
    for field, value in changes.items():
        setattr(account, field, value)
    if "name" in changes:
        account.name = (account.name or "").strip()
    _check_account(account, media)
    if changes or media is not None:
        account.last_update = clock.now()
        account.save(update_fields=[*changes, "last_update"])
    if media is not None:
        account.presentation_media.set(media)
    if target is not None and target != account.state:
        account = transition(
            account,
            target,
            transitions=ACCOUNT_TRANSITIONS,
            history=AccountStateChange,
            history_fk="account",
            by=by,
            reason=reason,
        )
    return account

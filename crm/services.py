"""Every meaningful write of the CRM: parties, customers, billing accounts."""

import uuid
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from crm.choices import ACCOUNT_TRANSITIONS, CustomerStatus, PartyKind, PaymentMethod, Segment
from crm.models import BillingAccount, BillingAccountStateChange, Customer, Party
from telco.exceptions import DomainError
from telco.states import transition

PARTY_FIELDS = {
    "given_name",
    "family_name",
    "organization_name",
    "birth_date",
    "email",
    "phone",
    "street",
    "city",
    "postcode",
    "country",
}


def _check_party(party: Party) -> None:
    if party.kind == PartyKind.INDIVIDUAL and not party.family_name.strip():
        raise DomainError("An individual needs a family name.", field="familyName")
    if party.kind == PartyKind.ORGANIZATION and not party.organization_name.strip():
        raise DomainError("An organization needs a name.", field="name")


@transaction.atomic
def party_create(*, kind: str, **fields) -> Party:
    """Create an individual or an organization; `fields` are Party model fields."""
    unknown = set(fields) - PARTY_FIELDS
    if unknown:
        raise DomainError(f"Unknown party attribute '{sorted(unknown)[0]}'.")
    if kind not in PartyKind.values:
        raise DomainError(f"'{kind}' is not a kind of party.", field="kind")
    now = timezone.now()
    party = Party(kind=kind, created_at=now, last_update=now, **fields)
    _check_party(party)
    party.save()
    return party


@transaction.atomic
def party_update(*, party: Party, changes: dict) -> Party:
    """Change a party's names, birth date or contact details."""
    unknown = set(changes) - PARTY_FIELDS
    if unknown:
        raise DomainError(f"Unknown party attribute '{sorted(unknown)[0]}'.")
    for field, value in changes.items():
        setattr(party, field, value)
    _check_party(party)
    party.last_update = timezone.now()
    party.save()
    return party


def _check_customer(customer: Customer) -> None:
    if not customer.name.strip():
        raise DomainError("A customer needs a name.", field="name")
    if customer.status not in CustomerStatus.values:
        raise DomainError(f"'{customer.status}' is not a customer status.", field="status")
    if customer.segment not in Segment.values:
        raise DomainError(f"'{customer.segment}' is not a segment.", field="customerCategory")


@transaction.atomic
def customer_create(*, party: Party, name: str, segment: str = Segment.CONSUMER) -> Customer:
    """Make a party a customer; a new customer starts approved."""
    now = timezone.now()
    customer = Customer(party=party, name=name, segment=segment, created_at=now, last_update=now)
    _check_customer(customer)
    customer.save()
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, changes: dict) -> Customer:
    """Change a customer's name, status or segment."""
    unknown = set(changes) - {"name", "status", "segment"}
    if unknown:
        raise DomainError(f"Unknown customer attribute '{sorted(unknown)[0]}'.")
    for field, value in changes.items():
        setattr(customer, field, value)
    _check_customer(customer)
    customer.last_update = timezone.now()
    customer.save()
    return customer


def _check_account(account: BillingAccount) -> None:
    if not account.name.strip():
        raise DomainError("A billing account needs a name.", field="name")
    if not 1 <= account.bill_cycle_day <= 28:
        raise DomainError(
            "The bill cycle day is 1 to 28, so that it exists in every month.",
            field="billStructure.cycleSpecification.billingDateShift",
        )
    if account.payment_method not in PaymentMethod.values:
        raise DomainError(
            f"'{account.payment_method}' is not a payment method.", field="defaultPaymentMethod"
        )
    if account.credit_limit < 0:
        raise DomainError("A credit limit cannot be negative.", field="creditLimit.value")
    if len(account.currency) != 3 or not account.currency.isalpha():
        raise DomainError(f"'{account.currency}' is not an ISO 4217 currency.", field="currency")


@transaction.atomic
def billing_account_create(
    *,
    customer: Customer,
    name: str,
    currency: str = "EUR",
    bill_cycle_day: int = 1,
    payment_method: str = PaymentMethod.DIRECT_DEBIT,
    credit_limit: Decimal = Decimal(0),
) -> BillingAccount:
    """Open a billing account for a customer; its number (BA00000042) is generated here."""
    now = timezone.now()
    account = BillingAccount(
        customer=customer,
        # A unique placeholder until the id, which the number is made of, exists.
        account_number=uuid.uuid4().hex[:20],
        name=name,
        currency=currency.upper(),
        bill_cycle_day=bill_cycle_day,
        payment_method=payment_method,
        credit_limit=credit_limit,
        created_at=now,
        last_update=now,
    )
    _check_account(account)
    account.save()
    account.account_number = f"BA{account.pk:08d}"
    account.save(update_fields=["account_number"])
    return account


@transaction.atomic
def billing_account_update(
    *, account: BillingAccount, changes: dict, by: str = "", reason: str = ""
) -> BillingAccount:
    """Change an account's name, bill cycle, payment method, credit limit, or state.

    A state change goes through the account state table and leaves a history row.
    """
    changes = dict(changes)
    unknown = set(changes) - {"name", "bill_cycle_day", "payment_method", "credit_limit", "state"}
    if unknown:
        raise DomainError(f"Unknown billing account attribute '{sorted(unknown)[0]}'.")
    target = changes.pop("state", None)
    for field, value in changes.items():
        setattr(account, field, value)
    _check_account(account)
    if changes:
        account.last_update = timezone.now()
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

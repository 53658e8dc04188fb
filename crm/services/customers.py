"""Customers (TMF629) and their credit profiles."""

from collections.abc import Iterable

from django.db import transaction

from crm.choices import CustomerStatus, Segment
from crm.models import CreditProfile, Customer, Party
from crm.services.common import check_valid_for, refuse_unknown_attributes, save_children
from telco import clock
from telco.exceptions import DomainError

CREDIT_PROFILE_FIELDS = {
    "credit_profile_date",
    "credit_score",
    "credit_risk_rating",
    "valid_from",
    "valid_to",
}


def _build_credit_profiles(profiles: Iterable[dict]) -> list[CreditProfile]:
    rows = []
    for index, data in enumerate(profiles):
        path = f"creditProfile[{index}]"
        refuse_unknown_attributes(data, CREDIT_PROFILE_FIELDS, "credit profile")
        row = CreditProfile(**data)
        if row.credit_profile_date is None:
            row.credit_profile_date = clock.now()
        if not isinstance(row.credit_score, int) or not 0 <= row.credit_score <= 999:
            raise DomainError("A credit score is 0 to 999.", field=f"{path}.creditScore")
        if not isinstance(row.credit_risk_rating, int) or not 1 <= row.credit_risk_rating <= 5:
            raise DomainError(
                "A credit risk rating is 1 (lowest risk) to 5.", field=f"{path}.creditRiskRating"
            )
        check_valid_for(row.valid_from, row.valid_to, f"{path}.validFor.endDateTime")
        rows.append(row)
    return rows


def _check_customer(customer: Customer) -> None:
    if not customer.name.strip():
        raise DomainError("A customer needs a name.", field="name")
    if customer.status not in CustomerStatus.values:
        raise DomainError(f"'{customer.status}' is not a customer status.", field="status")
    if customer.segment not in Segment.values:
        raise DomainError(f"'{customer.segment}' is not a segment.", field="customerCategory")


@transaction.atomic
def customer_create(
    *,
    party: Party,
    name: str,
    segment: str = Segment.CONSUMER,
    credit_profiles: list[dict] | None = None,
) -> Customer:
    """Make a party a customer, with its credit profiles; a new customer starts approved."""
    now = clock.now()
    customer = Customer(party=party, name=name, segment=segment, created_at=now, last_update=now)
    _check_customer(customer)
    profiles = _build_credit_profiles(credit_profiles or [])
    customer.save()
    save_children(profiles, customer=customer)
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, changes: dict) -> Customer:
    """Change a customer's name, status or segment; `credit_profiles` replaces the list."""
    changes = dict(changes)
    profiles = changes.pop("credit_profiles", None)
    refuse_unknown_attributes(changes, {"name", "status", "segment"}, "customer")
    for field, value in changes.items():
        setattr(customer, field, value)
    _check_customer(customer)
    if profiles is not None:
        profiles = _build_credit_profiles(profiles)
    customer.last_update = clock.now()
    customer.save()
    if profiles is not None:
        customer.credit_profiles.all().delete()
        save_children(profiles, customer=customer)
    return customer

"""TMF666 accounts beside the billing account: the party, settlement and financial accounts
(one table, `Account.kind`)."""

from decimal import Decimal

from django.db import transaction

from crm.choices import ACCOUNT_TRANSITIONS, AccountKind, AccountState, PaymentMethod
from crm.models import Account, AccountStateChange, BillPresentationMedia, Party
from crm.services.bill_structure import check_cycle_usable, standard_cycle_specification
from crm.services.billing_accounts import build_account_contacts
from crm.services.common import refuse_unknown_attributes
from telco import clock
from telco.exceptions import DomainError
from telco.money import DEFAULT_CURRENCY
from telco.states import transition

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
    refuse_unknown_attributes(fields, ACCOUNT_FIELDS | {"bill_cycle_day"}, "account")
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
    refuse_unknown_attributes(
        changes, (ACCOUNT_FIELDS - {"currency"}) | {"bill_cycle_day"}, "account"
    )
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

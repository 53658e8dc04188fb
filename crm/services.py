"""Every meaningful write of the CRM: parties with their contact media and identifications,
customers and credit profiles, billing accounts and contacts, trouble tickets, interactions and
customer notifications."""

import logging
import re
import smtplib
import uuid
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from crm.choices import (
    ACCOUNT_TRANSITIONS,
    INDIVIDUAL_IDENTIFICATION_TYPES,
    INTERACTION_RELATED_ENTITY_TYPES,
    MEDIUM_GROUPS,
    ORGANIZATION_IDENTIFICATION_TYPES,
    TICKET_DEADLINES,
    TICKET_DEFAULT_PRIORITY,
    TICKET_RELATED_ENTITY_TYPES,
    TICKET_TRANSITIONS,
    BillingFrequency,
    ContactType,
    CustomerStatus,
    InteractionChannel,
    InteractionDirection,
    InteractionStatus,
    MediumType,
    PartyKind,
    PaymentMethod,
    Segment,
    TicketSeverity,
    TicketStatus,
    TicketType,
    cycle_specification_name,
)
from crm.models import (
    BillFormat,
    BillingAccount,
    BillingAccountContact,
    BillingAccountStateChange,
    BillingCycleSpecification,
    BillPresentationMedia,
    ContactMedium,
    CreditProfile,
    Customer,
    Party,
    PartyIdentification,
    PartyInteraction,
    TroubleTicket,
    TroubleTicketStatusChange,
)
from telco import clock
from telco.exceptions import DomainError
from telco.money import DEFAULT_CURRENCY
from telco.states import check_transition, transition

logger = logging.getLogger(__name__)

PARTY_FIELDS = {"given_name", "family_name", "organization_name", "birth_date"}
CREDIT_PROFILE_FIELDS = {
    "credit_profile_date",
    "credit_score",
    "credit_risk_rating",
    "valid_from",
    "valid_to",
}
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

# ContactMedium field -> its TMF632 path inside one contactMedium entry (for error messages).
MEDIUM_FIELDS = {
    "medium_type": "mediumType",
    "preferred": "preferred",
    "contact_type": "characteristic.contactType",
    "email_address": "characteristic.emailAddress",
    "phone_number": "characteristic.phoneNumber",
    "street1": "characteristic.street1",
    "street2": "characteristic.street2",
    "city": "characteristic.city",
    "post_code": "characteristic.postCode",
    "state_or_province": "characteristic.stateOrProvince",
    "country": "characteristic.country",
    "valid_from": "validFor.startDateTime",
    "valid_to": "validFor.endDateTime",
}
IDENTIFICATION_FIELDS = {
    "identification_type": "identificationType",
    "identification_id": "identificationId",
    "issuing_authority": "issuingAuthority",
    "issuing_country": "issuingCountry",
    "issuing_date": "issuingDate",
    "valid_from": "validFor.startDateTime",
    "valid_to": "validFor.endDateTime",
}
PHONE_NUMBER = re.compile(r"^\+?[0-9][0-9 ()\-]{2,30}$")
COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")


def _check_valid_for(valid_from, valid_to, field: str) -> None:
    if valid_from is not None and valid_to is not None and valid_to <= valid_from:
        raise DomainError("The end of the validity comes after its start.", field=field)


def _is_current(row, now) -> bool:
    return (row.valid_from is None or row.valid_from <= now) and (
        row.valid_to is None or row.valid_to > now
    )


def _refuse_unknown(data: Iterable[str], known: Iterable[str], noun: str) -> None:
    """An attribute not in `known` is refused (the first one, by name)."""
    unknown = set(data) - set(known)
    if unknown:
        raise DomainError(f"Unknown {noun} attribute '{sorted(unknown)[0]}'.")


def _known_attributes(data: dict, known: dict, noun: str) -> dict:
    """`data` with its text stripped; an attribute not in `known` is refused."""
    _refuse_unknown(data, known, noun)
    return {key: value.strip() if isinstance(value, str) else value for key, value in data.items()}


def _build_media(media: Iterable[dict], *, path: str) -> list[ContactMedium]:
    """Unsaved, checked ContactMedium rows; errors name `path[index].<tmf attribute>`."""
    rows, preferred_groups = [], {}
    for index, data in enumerate(media):

        def field(name: str, index: int = index) -> str:
            return f"{path}[{index}].{MEDIUM_FIELDS[name]}"

        row = ContactMedium(**_known_attributes(data, MEDIUM_FIELDS, "contact medium"))
        if row.medium_type not in MediumType.values:
            raise DomainError(
                f"The medium type is one of {', '.join(MediumType.values)}.",
                field=field("medium_type"),
            )
        if row.medium_type == MediumType.EMAIL:
            try:
                validate_email(row.email_address)
            except ValidationError:
                raise DomainError(
                    "An email medium needs a valid email address.", field=field("email_address")
                ) from None
        elif row.medium_type in (MediumType.PHONE, MediumType.MOBILE):
            if not PHONE_NUMBER.match(row.phone_number):
                raise DomainError(
                    "A phone medium needs a phone number (digits, spaces, +, -, brackets).",
                    field=field("phone_number"),
                )
        else:
            if not row.city:
                raise DomainError("A postal address needs a city.", field=field("city"))
            if not row.street1:
                raise DomainError("A postal address needs a street.", field=field("street1"))
        row.country = row.country.upper()
        if row.country and not COUNTRY_CODE.match(row.country):
            raise DomainError("An ISO 3166 alpha-2 country code.", field=field("country"))
        _check_valid_for(row.valid_from, row.valid_to, field("valid_to"))
        group = MEDIUM_GROUPS[row.medium_type]
        if row.preferred:
            if group in preferred_groups:
                raise DomainError(
                    f"Only one {group} medium can be preferred.", field=field("preferred")
                )
            preferred_groups[group] = index
        rows.append(row)
    return rows


def medium_as_dict(row: ContactMedium) -> dict:
    """A checked medium as the JSON a billing account contact keeps (model field names)."""
    data = {name: getattr(row, name) for name in MEDIUM_FIELDS}
    for name in ("valid_from", "valid_to"):
        data[name] = data[name].isoformat() if data[name] else None
    return data


def _preferred(rows: list[ContactMedium], types: tuple[str, ...], now) -> ContactMedium | None:
    current = [r for r in rows if r.medium_type in types and _is_current(r, now)]
    flagged = [r for r in current if r.preferred]
    return (flagged or current or [None])[0]


def _apply_preferred(party: Party, rows: list[ContactMedium]) -> None:
    """Keep the party's email, phone and address columns equal to its preferred media: the
    first preferred one of each kind, else the first current one."""
    now = clock.now()
    email = _preferred(rows, (MediumType.EMAIL,), now)
    phone = _preferred(rows, (MediumType.MOBILE, MediumType.PHONE), now)
    address = _preferred(rows, (MediumType.POSTAL_ADDRESS,), now)
    party.email = email.email_address if email else ""
    party.phone = phone.phone_number if phone else ""
    party.street = ", ".join(p for p in (address.street1, address.street2) if p) if address else ""
    party.street = party.street[:160]
    party.city = address.city if address else ""
    party.postcode = address.post_code if address else ""
    if address and address.country:
        party.country = address.country


@transaction.atomic
def party_refresh_contact_columns(*, party: Party) -> Party:
    """Set the party's email, phone and address columns from its stored contact media (after
    the media were edited elsewhere than `party_update`, e.g. in the admin)."""
    party = Party.objects.select_for_update().get(pk=party.pk)
    _apply_preferred(party, list(party.contact_media.order_by("id")))
    party.save(update_fields=["email", "phone", "street", "city", "postcode", "country"])
    return party


def _identification_path(kind: str) -> str:
    if kind == PartyKind.ORGANIZATION:
        return "organizationIdentification"
    return "individualIdentification"


def _build_identifications(party: Party, identifications: Iterable[dict]) -> list:
    """Unsaved, checked PartyIdentification rows; a document already identifying another party
    is refused."""
    path = _identification_path(party.kind)
    allowed = (
        ORGANIZATION_IDENTIFICATION_TYPES
        if party.kind == PartyKind.ORGANIZATION
        else INDIVIDUAL_IDENTIFICATION_TYPES
    )
    rows, seen = [], {}
    for index, data in enumerate(identifications):

        def field(name: str, index: int = index) -> str:
            return f"{path}[{index}].{IDENTIFICATION_FIELDS[name]}"

        values = _known_attributes(data, IDENTIFICATION_FIELDS, "identification")
        row = PartyIdentification(party=party, **values)
        if row.identification_type not in allowed:
            raise DomainError(
                f"An {party.kind} is identified by one of {', '.join(allowed)}.",
                field=field("identification_type"),
            )
        # Numbers are compared as issued, without spacing or case differences.
        row.identification_id = "".join(row.identification_id.split()).upper()
        if not row.identification_id:
            raise DomainError("The document number is required.", field=field("identification_id"))
        row.issuing_country = row.issuing_country.upper()
        if row.issuing_country and not COUNTRY_CODE.match(row.issuing_country):
            raise DomainError("An ISO 3166 alpha-2 country code.", field=field("issuing_country"))
        if row.issuing_date and row.issuing_date > clock.today():
            raise DomainError("A document is issued in the past.", field=field("issuing_date"))
        _check_valid_for(row.valid_from, row.valid_to, field("valid_to"))
        key = (
            row.identification_type,
            row.identification_id,
            row.issuing_authority,
            row.issuing_country,
        )
        if key in seen:
            raise DomainError("The same document is given twice.", field=field("identification_id"))
        seen[key] = index
        rows.append(row)
    taken = PartyIdentification.objects.none()
    for key in seen:
        taken |= PartyIdentification.objects.filter(
            identification_type=key[0],
            identification_id=key[1],
            issuing_authority=key[2],
            issuing_country=key[3],
        )
    if party.pk:
        taken = taken.exclude(party_id=party.pk)
    clash = taken.order_by("id").first() if seen else None
    if clash is not None:
        index = seen[
            (
                clash.identification_type,
                clash.identification_id,
                clash.issuing_authority,
                clash.issuing_country,
            )
        ]
        raise DomainError(
            f"This {clash.identification_type} already identifies another party.",
            field=f"{path}[{index}].identificationId",
        )
    return rows


def _save_children(rows: list, **owner) -> None:
    """Save unsaved child rows (media, documents, profiles, contacts) under `owner` in one
    INSERT, e.g. `_save_children(media, party=party)`."""
    if not rows:
        return
    for row in rows:
        for field, value in owner.items():
            setattr(row, field, value)
    type(rows[0]).objects.bulk_create(rows)


def _save_identifications(party: Party, rows: list[PartyIdentification], *, path: str) -> None:
    try:
        # A savepoint: a concurrent twin registering the same document leaves this transaction
        # usable, and the caller sees the same field error as the check above gives.
        with transaction.atomic():
            _save_children(rows, party=party)
    except IntegrityError:
        raise DomainError(
            "A document given already identifies another party.", field=path
        ) from None


def _check_party(party: Party) -> None:
    if party.kind == PartyKind.INDIVIDUAL and not party.family_name.strip():
        raise DomainError("An individual needs a family name.", field="familyName")
    if party.kind == PartyKind.ORGANIZATION and not party.organization_name.strip():
        raise DomainError("An organization needs a name.", field="name")


@transaction.atomic
def party_create(
    *,
    kind: str,
    contact_media: list[dict] | None = None,
    identifications: list[dict] | None = None,
    **fields,
) -> Party:
    """Create an individual or an organization with its contact media and identifications.

    `fields` are the party's names and birth date; `contact_media` are ContactMedium field
    dicts, `identifications` PartyIdentification field dicts. The party's email, phone and
    address columns become its preferred media.
    """
    _refuse_unknown(fields, PARTY_FIELDS, "party")
    if kind not in PartyKind.values:
        raise DomainError(f"'{kind}' is not a kind of party.", field="kind")
    now = clock.now()
    party = Party(kind=kind, created_at=now, last_update=now, **fields)
    _check_party(party)
    media = _build_media(contact_media or [], path="contactMedium")
    documents = _build_identifications(party, identifications or [])
    _apply_preferred(party, media)
    party.save()
    _save_children(media, party=party)
    _save_identifications(party, documents, path=_identification_path(kind))
    return party


@transaction.atomic
def party_update(*, party: Party, changes: dict) -> Party:
    """Change a party's names or birth date; `contact_media` or `identifications` in `changes`
    replace the whole list (as a merge patch replaces an array)."""
    changes = dict(changes)
    media = changes.pop("contact_media", None)
    identifications = changes.pop("identifications", None)
    _refuse_unknown(changes, PARTY_FIELDS, "party")
    party = Party.objects.select_for_update().get(pk=party.pk)
    for field, value in changes.items():
        setattr(party, field, value)
    _check_party(party)
    if media is not None:
        media = _build_media(media, path="contactMedium")
        _apply_preferred(party, media)
    if identifications is not None:
        identifications = _build_identifications(party, identifications)
    party.last_update = clock.now()
    party.save()
    if media is not None:
        party.contact_media.all().delete()
        _save_children(media, party=party)
    if identifications is not None:
        party.identifications.all().delete()
        _save_identifications(party, identifications, path=_identification_path(party.kind))
    return party


def _build_credit_profiles(profiles: Iterable[dict]) -> list[CreditProfile]:
    rows = []
    for index, data in enumerate(profiles):
        path = f"creditProfile[{index}]"
        _refuse_unknown(data, CREDIT_PROFILE_FIELDS, "credit profile")
        row = CreditProfile(**data)
        if row.credit_profile_date is None:
            row.credit_profile_date = clock.now()
        if not isinstance(row.credit_score, int) or not 0 <= row.credit_score <= 999:
            raise DomainError("A credit score is 0 to 999.", field=f"{path}.creditScore")
        if not isinstance(row.credit_risk_rating, int) or not 1 <= row.credit_risk_rating <= 5:
            raise DomainError(
                "A credit risk rating is 1 (lowest risk) to 5.", field=f"{path}.creditRiskRating"
            )
        _check_valid_for(row.valid_from, row.valid_to, f"{path}.validFor.endDateTime")
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
    _save_children(profiles, customer=customer)
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, changes: dict) -> Customer:
    """Change a customer's name, status or segment; `credit_profiles` replaces the list."""
    changes = dict(changes)
    profiles = changes.pop("credit_profiles", None)
    _refuse_unknown(changes, {"name", "status", "segment"}, "customer")
    for field, value in changes.items():
        setattr(customer, field, value)
    _check_customer(customer)
    if profiles is not None:
        profiles = _build_credit_profiles(profiles)
    customer.last_update = clock.now()
    customer.save()
    if profiles is not None:
        customer.credit_profiles.all().delete()
        _save_children(profiles, customer=customer)
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


def build_account_contacts(contacts: Iterable[dict]) -> list[BillingAccountContact]:
    """Unsaved, checked contacts (TMF666 Contact, as BillingAccountContact fields); their media
    are checked as a party's are."""
    rows = []
    for index, data in enumerate(contacts):
        path = f"contact[{index}]"
        data = dict(data)
        _refuse_unknown(data, ACCOUNT_CONTACT_FIELDS, "contact")
        media = _build_media(data.pop("contact_medium", []), path=f"{path}.contactMedium")
        row = BillingAccountContact(**data)
        row.contact_name = row.contact_name.strip()
        if not row.contact_name:
            raise DomainError("A contact needs a name.", field=f"{path}.contactName")
        if row.contact_type not in ContactType.values:
            raise DomainError(
                f"The contact type is one of {', '.join(ContactType.values)}.",
                field=f"{path}.contactType",
            )
        _check_valid_for(row.valid_from, row.valid_to, f"{path}.validFor.endDateTime")
        row.contact_medium = [medium_as_dict(medium) for medium in media]
        rows.append(row)
    return rows


def standard_cycle_specification(day: int) -> BillingCycleSpecification:
    """The cycle an account gets when only its day is given: the oldest monthly specification
    with that day (the seeded "Monthly, day N"), made when there is none."""
    if not isinstance(day, int) or not 1 <= day <= 28:
        raise DomainError(
            "The bill cycle day is 1 to 28, so that it exists in every month.",
            field="billStructure.cycleSpecification.billingDateShift",
        )
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
    _save_children(contact_rows, account=account)
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
    _refuse_unknown(changes, BILLING_ACCOUNT_FIELDS, "billing account")
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
        _save_children(contacts, account=account)
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


TICKET_FIELDS = {
    "name",
    "description",
    "ticket_type",
    "severity",
    "priority",
    "assignee",
    "related_entities",
}


def _check_related_entities(entities: list[dict], types: tuple[str, ...], subject: str) -> None:
    """Each TMF related entity has an id and one of `types` as its `@referredType`."""
    for index, entity in enumerate(entities):
        if not str(entity.get("id", "")).strip():
            raise DomainError("A related entity needs an id.", field=f"relatedEntity[{index}].id")
        if entity.get("@referredType") not in types:
            raise DomainError(
                f"{subject} relates to one of {', '.join(types)}.",
                field=f"relatedEntity[{index}].@referredType",
            )


def _check_ticket(ticket: TroubleTicket) -> None:
    if not ticket.description.strip():
        raise DomainError("A trouble ticket needs a description.", field="description")
    if ticket.ticket_type not in TicketType.values:
        raise DomainError(f"'{ticket.ticket_type}' is not a ticket type.", field="ticketType")
    if ticket.severity not in TicketSeverity.values:
        raise DomainError(f"'{ticket.severity}' is not a severity.", field="severity")
    if not isinstance(ticket.priority, int) or not 1 <= ticket.priority <= 4:
        raise DomainError("The priority is 1 (most urgent) to 4.", field="priority")
    _check_related_entities(ticket.related_entities, TICKET_RELATED_ENTITY_TYPES, "A ticket")


def _set_deadlines(ticket: TroubleTicket) -> None:
    deadlines = TICKET_DEADLINES[ticket.severity]
    ticket.expected_response_date = ticket.created_at + deadlines["respond"]
    ticket.expected_resolution_date = ticket.created_at + deadlines["resolve"]


def _new_notes(existing: list[dict], notes: list[dict], *, by: str, now) -> list[dict]:
    """Notes to append, stamped now; a note already on the ticket (same author, date and text,
    as a client echoing the whole array sends it) is not added twice."""
    seen = {(n.get("author"), n.get("date"), n.get("text")) for n in existing}
    added = []
    for note in notes:
        text = str(note.get("text", "")).strip()
        if not text:
            raise DomainError("A note needs a text.", field="note.text")
        if (note.get("author"), note.get("date"), note.get("text")) in seen:
            continue
        added.append({"author": note.get("author") or by, "date": now.isoformat(), "text": text})
    return added


@transaction.atomic
def trouble_ticket_create(
    *,
    customer: Customer,
    description: str,
    ticket_type: str,
    severity: str,
    name: str = "",
    priority: int | None = None,
    assignee: str = "",
    related_entities: list[dict] | None = None,
    notes: list[dict] | None = None,
    by: str = "",
) -> TroubleTicket:
    """Open a ticket, acknowledged, with response and resolution deadlines from its severity."""
    now = clock.now()
    if priority is None:
        priority = TICKET_DEFAULT_PRIORITY.get(severity, 3)
    ticket = TroubleTicket(
        customer=customer,
        name=name,
        description=description,
        ticket_type=ticket_type,
        severity=severity,
        priority=priority,
        assignee=assignee,
        related_entities=list(related_entities or []),
        created_at=now,
        last_update=now,
    )
    _check_ticket(ticket)
    _set_deadlines(ticket)
    ticket.notes = _new_notes([], notes or [], by=by, now=now)
    ticket.save()
    TroubleTicketStatusChange.objects.create(
        ticket=ticket, to_state=ticket.status, changed_at=now, changed_by=by
    )
    return ticket


@transaction.atomic
def trouble_ticket_update(*, ticket: TroubleTicket, changes: dict, by: str = "") -> TroubleTicket:
    """Change a ticket's attributes, append notes and move its status.

    `changes` holds TroubleTicket fields plus `status`, `status_change_reason` (the reason
    recorded with the move) and `notes` (appended). A severity change moves the deadlines.
    Nothing is written if any part is refused (an illegal move is InvalidTransition, 409).
    """
    changes = dict(changes)
    target = changes.pop("status", None)
    reason = changes.pop("status_change_reason", None)
    notes = changes.pop("notes", None)
    _refuse_unknown(changes, TICKET_FIELDS, "trouble ticket")
    ticket = TroubleTicket.objects.select_for_update().get(pk=ticket.pk)
    moves = target is not None and target != ticket.status
    if reason is not None and not moves:
        raise DomainError(
            "A status change reason goes with a status change.", field="statusChangeReason"
        )
    if moves:
        if target not in TicketStatus.values:
            raise DomainError(f"'{target}' is not a trouble ticket status.", field="status")
        check_transition(TICKET_TRANSITIONS, ticket.status, target, "Trouble ticket")
    now = clock.now()
    fields = set()
    for field, value in changes.items():
        if getattr(ticket, field) != value:
            setattr(ticket, field, value)
            fields.add(field)
    _check_ticket(ticket)
    if "severity" in fields:
        _set_deadlines(ticket)
        fields |= {"expected_response_date", "expected_resolution_date"}
    if notes:
        added = _new_notes(ticket.notes, notes, by=by, now=now)
        if added:
            ticket.notes = [*ticket.notes, *added]
            fields.add("notes")
    if fields:
        ticket.last_update = now
        ticket.save(update_fields=[*sorted(fields), "last_update"])
    if moves:
        ticket = trouble_ticket_set_status(ticket=ticket, status=target, by=by, reason=reason or "")
    return ticket


def trouble_ticket_set_status(
    *, ticket: TroubleTicket, status: str, by: str = "", reason: str = ""
) -> TroubleTicket:
    """Move a ticket along its lifecycle (InvalidTransition, 409, for an illegal move).

    The first move out of acknowledged is the response; resolved stamps the resolution date,
    which a reopen clears.
    """
    now = clock.now()
    extra = {"status_change_reason": reason}
    if ticket.responded_at is None and ticket.status == TicketStatus.ACKNOWLEDGED:
        extra["responded_at"] = now
    if status == TicketStatus.RESOLVED:
        extra["resolution_date"] = now
    elif status == TicketStatus.IN_PROGRESS and ticket.status == TicketStatus.RESOLVED:
        extra["resolution_date"] = None
    ticket = transition(
        ticket,
        status,
        transitions=TICKET_TRANSITIONS,
        history=TroubleTicketStatusChange,
        history_fk="ticket",
        field="status",
        by=by,
        reason=reason,
        extra_updates=extra,
    )
    if status == TicketStatus.RESOLVED:
        # Told once the resolution is committed: a rolled-back resolve sends nothing.
        ticket_id = ticket.pk
        transaction.on_commit(lambda: _notify_ticket_resolved(ticket_id, by=by))
    return ticket


def _notify_ticket_resolved(ticket_id: int, *, by: str) -> PartyInteraction:
    ticket = TroubleTicket.objects.select_related("customer__party").get(pk=ticket_id)
    title = ticket.name or ticket.description[:60]
    lines = [
        f"Dear {ticket.customer.name},",
        "",
        f"your trouble ticket TT{ticket.pk} ({title}) has been resolved.",
    ]
    if ticket.status_change_reason:
        lines.append(f"Resolution: {ticket.status_change_reason}")
    lines += ["", "If the problem comes back, reply to this message or call us.", "", "Telco Care"]
    return customer_notify(
        customer=ticket.customer,
        subject=f"Your trouble ticket TT{ticket.pk} is resolved",
        body="\n".join(lines),
        reason="troubleTicketResolved",
        by=by,
        related_entities=[
            {"id": str(ticket.pk), "@referredType": "TroubleTicket", "name": f"TT{ticket.pk}"}
        ],
    )


@transaction.atomic
def party_interaction_create(
    *,
    customer: Customer,
    channel: str,
    direction: str,
    reason: str,
    description: str = "",
    subject: str = "",
    interaction_date=None,
    end_date=None,
    related_entities: Iterable[dict] = (),
    notes: list[dict] | None = None,
    status: str = InteractionStatus.COMPLETED,
    recipient: str = "",
    error: str = "",
    by: str = "",
) -> PartyInteraction:
    """Record a contact with the customer (a call, email, visit, chat or notification)."""
    now = clock.now()
    interaction = PartyInteraction(
        customer=customer,
        channel=channel,
        direction=direction,
        reason=reason.strip(),
        subject=subject.strip()[:200],
        description=description.strip(),
        interaction_date=interaction_date or now,
        end_date=end_date,
        related_entities=[dict(entity) for entity in related_entities],
        status=status,
        recipient=recipient,
        error=error,
        created_by=by,
        created_at=now,
    )
    if interaction.channel not in InteractionChannel.values:
        raise DomainError(
            f"The channel is one of {', '.join(InteractionChannel.values)}.", field="channel"
        )
    if interaction.direction not in InteractionDirection.values:
        raise DomainError("The direction is inbound or outbound.", field="direction")
    if not interaction.reason:
        raise DomainError("An interaction needs a reason.", field="reason")
    if len(interaction.reason) > 160:
        raise DomainError("The reason is at most 160 characters.", field="reason")
    if interaction.status not in InteractionStatus.values:
        raise DomainError(f"'{interaction.status}' is not an interaction status.", field="status")
    if interaction.end_date is not None and interaction.end_date < interaction.interaction_date:
        raise DomainError(
            "An interaction ends after it starts.", field="interactionDate.endDateTime"
        )
    _check_related_entities(
        interaction.related_entities, INTERACTION_RELATED_ENTITY_TYPES, "An interaction"
    )
    interaction.notes = _new_notes([], notes or [], by=by, now=now)
    interaction.save()
    return interaction


@transaction.atomic
def party_interaction_add_notes(
    *, interaction: PartyInteraction, notes: list[dict], by: str = ""
) -> PartyInteraction:
    """Append notes to an interaction (what was said is never rewritten)."""
    interaction = PartyInteraction.objects.select_for_update().get(pk=interaction.pk)
    added = _new_notes(interaction.notes, notes, by=by, now=clock.now())
    if added:
        interaction.notes = [*interaction.notes, *added]
        interaction.save(update_fields=["notes"])
    return interaction


# What a mail server or a connection to it raises; anything else is a bug and propagates.
MAIL_ERRORS = (smtplib.SMTPException, OSError)


def customer_notify(
    *,
    customer: Customer,
    subject: str,
    body: str,
    reason: str,
    by: str,
    related_entities: Iterable[dict] = (),
    connection=None,
) -> PartyInteraction:
    """Email the customer at their preferred address and record the outbound notification.

    The interaction is `sent`, or `failed` with the error (no email address, the mail server
    refused): a notification that could not go out is recorded, never raised. When notifying
    many, read the customers with their party (`select_related("party")`) and pass one open
    `django.core.mail.get_connection()` as `connection`, so the mail server is dialled once.
    """
    recipient = customer.party.email
    # A header cannot carry a line break (Django refuses it); the subject is one line.
    subject = " ".join(subject.split())[:200]
    status, error = InteractionStatus.SENT, ""
    if not recipient:
        status, error = InteractionStatus.FAILED, "The customer has no email address."
    else:
        try:
            send_mail(
                subject, body, settings.DEFAULT_FROM_EMAIL, [recipient], connection=connection
            )
        except MAIL_ERRORS as exc:
            status, error = InteractionStatus.FAILED, f"{type(exc).__name__}: {exc}"
            logger.warning("notification to customer %s failed: %s", customer.pk, error)
    return party_interaction_create(
        customer=customer,
        channel=InteractionChannel.NOTIFICATION,
        direction=InteractionDirection.OUTBOUND,
        reason=reason,
        subject=subject,
        description=body,
        related_entities=related_entities,
        status=status,
        recipient=recipient,
        error=error,
        by=by,
    )

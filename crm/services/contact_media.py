"""Contact media (TMF632 ContactMedium) of parties and billing account contacts: checking them,
and keeping a party's email, phone and address columns equal to its preferred media."""

import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from crm.choices import MEDIUM_GROUPS, MediumType
from crm.models import ContactMedium, Party
from crm.services.common import check_valid_for, is_current, known_attributes
from telco import clock
from telco.exceptions import DomainError

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
PHONE_NUMBER = re.compile(r"^\+?[0-9][0-9 ()\-]{2,30}$")
COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")


def build_contact_media(media: Iterable[dict], *, path: str) -> list[ContactMedium]:
    """Unsaved, checked ContactMedium rows; errors name `path[index].<tmf attribute>`."""
    rows, preferred_groups = [], {}
    for index, data in enumerate(media):

        def field(name: str, index: int = index) -> str:
            return f"{path}[{index}].{MEDIUM_FIELDS[name]}"

        row = ContactMedium(**known_attributes(data, MEDIUM_FIELDS, "contact medium"))
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
        check_valid_for(row.valid_from, row.valid_to, field("valid_to"))
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
    current = [r for r in rows if r.medium_type in types and is_current(r, now)]
    flagged = [r for r in current if r.preferred]
    return (flagged or current or [None])[0]


def apply_preferred_media(party: Party, rows: list[ContactMedium]) -> None:
    """Keep the party's email, phone and address columns equal to its preferred media: the
    first preferred one of each kind, else the first current one (the party is not saved)."""
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

"""Parties (TMF632 Individual and Organization) with their contact media and identification
documents."""

from collections.abc import Iterable

from django.db import IntegrityError, transaction

from crm.choices import (
    INDIVIDUAL_IDENTIFICATION_TYPES,
    ORGANIZATION_IDENTIFICATION_TYPES,
    PartyKind,
)
from crm.models import Party, PartyIdentification
from crm.services.common import (
    check_valid_for,
    known_attributes,
    refuse_unknown_attributes,
    save_children,
)
from crm.services.contact_media import COUNTRY_CODE, apply_preferred_media, build_contact_media
from telco import clock
from telco.exceptions import DomainError

PARTY_FIELDS = {"given_name", "family_name", "organization_name", "birth_date"}
IDENTIFICATION_FIELDS = {
    "identification_type": "identificationType",
    "identification_id": "identificationId",
    "issuing_authority": "issuingAuthority",
    "issuing_country": "issuingCountry",
    "issuing_date": "issuingDate",
    "valid_from": "validFor.startDateTime",
    "valid_to": "validFor.endDateTime",
}


@transaction.atomic
def party_refresh_contact_columns(*, party: Party) -> Party:
    """Set the party's email, phone and address columns from its stored contact media (after
    the media were edited elsewhere than `party_update`, e.g. in the admin)."""
    party = Party.objects.select_for_update().get(pk=party.pk)
    apply_preferred_media(party, list(party.contact_media.order_by("id")))
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

        values = known_attributes(data, IDENTIFICATION_FIELDS, "identification")
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
        check_valid_for(row.valid_from, row.valid_to, field("valid_to"))
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


def _save_identifications(party: Party, rows: list[PartyIdentification], *, path: str) -> None:
    try:
        # A savepoint: a concurrent twin registering the same document leaves this transaction
        # usable, and the caller sees the same field error as the check above gives.
        with transaction.atomic():
            save_children(rows, party=party)
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
    refuse_unknown_attributes(fields, PARTY_FIELDS, "party")
    if kind not in PartyKind.values:
        raise DomainError(f"'{kind}' is not a kind of party.", field="kind")
    now = clock.now()
    party = Party(kind=kind, created_at=now, last_update=now, **fields)
    _check_party(party)
    media = build_contact_media(contact_media or [], path="contactMedium")
    documents = _build_identifications(party, identifications or [])
    apply_preferred_media(party, media)
    party.save()
    save_children(media, party=party)
    _save_identifications(party, documents, path=_identification_path(kind))
    return party


@transaction.atomic
def party_update(*, party: Party, changes: dict) -> Party:
    """Change a party's names or birth date; `contact_media` or `identifications` in `changes`
    replace the whole list (as a merge patch replaces an array)."""
    changes = dict(changes)
    media = changes.pop("contact_media", None)
    identifications = changes.pop("identifications", None)
    refuse_unknown_attributes(changes, PARTY_FIELDS, "party")
    party = Party.objects.select_for_update().get(pk=party.pk)
    for field, value in changes.items():
        setattr(party, field, value)
    _check_party(party)
    if media is not None:
        media = build_contact_media(media, path="contactMedium")
        apply_preferred_media(party, media)
    if identifications is not None:
        identifications = _build_identifications(party, identifications)
    party.last_update = clock.now()
    party.save()
    if media is not None:
        party.contact_media.all().delete()
        save_children(media, party=party)
    if identifications is not None:
        party.identifications.all().delete()
        _save_identifications(party, identifications, path=_identification_path(party.kind))
    return party

"""The TMF data types the CRM resources share: resource url names, party and customer refs,
TimePeriod, ContactMedium, account contacts and payment method refs."""

from rest_framework import serializers

from crm.choices import ContactType, MediumType, PartyKind, PaymentMethod
from crm.models import BillingAccountContact, Customer, Party
from telco.api.serializers import NestedSerializer, RefSerializer, TMFSerializer
from telco.selectors import row_with_id

INDIVIDUAL = "crm-api:individual-detail"
ORGANIZATION = "crm-api:organization-detail"
CUSTOMER = "crm-api:customer-detail"
BILLING_ACCOUNT = "crm-api:billingAccount-detail"
TROUBLE_TICKET = "crm-api:troubleTicket-detail"

PARTY_INTERACTION = "crm-api:partyInteraction-detail"
# The @referredType of a party ref, by the url name of its resource.
PARTY_TYPES = {INDIVIDUAL: "Individual", ORGANIZATION: "Organization"}


def party_ref(serializer: TMFSerializer, party: Party) -> dict:
    url_name = ORGANIZATION if party.kind == PartyKind.ORGANIZATION else INDIVIDUAL
    return serializer.ref(party, url_name, party.referred_type, name=party.display_name)


def tmf_datetime(value) -> str | None:
    """A moment as the API writes it; None stays None."""
    return serializers.DateTimeField().to_representation(value) if value else None


def with_valid_for(body: dict, valid_from, valid_to) -> dict:
    """`body` with `validFor`, a TMF TimePeriod, when a bound is set; bounds that are not set
    are left out."""
    period = {}
    if valid_from:
        period["startDateTime"] = tmf_datetime(valid_from)
    if valid_to:
        period["endDateTime"] = tmf_datetime(valid_to)
    if period:
        body["validFor"] = period
    return body


class TimePeriodSerializer(serializers.Serializer):
    startDateTime = serializers.DateTimeField(required=False, allow_null=True)
    endDateTime = serializers.DateTimeField(required=False, allow_null=True)


def period_fields(data: dict, start: str = "valid_from", end: str = "valid_to") -> dict:
    """The bounds of the `validFor` TimePeriod in `data`, as model fields (None when absent)."""
    period = data.get("validFor") or {}
    return {start: period.get("startDateTime"), end: period.get("endDateTime")}


class MediumCharacteristicSerializer(serializers.Serializer):
    contactType = serializers.CharField(max_length=32, required=False, allow_blank=True)
    emailAddress = serializers.EmailField(required=False, allow_blank=True)
    phoneNumber = serializers.CharField(max_length=32, required=False, allow_blank=True)
    street1 = serializers.CharField(max_length=160, required=False, allow_blank=True)
    street2 = serializers.CharField(max_length=160, required=False, allow_blank=True)
    city = serializers.CharField(max_length=80, required=False, allow_blank=True)
    postCode = serializers.CharField(max_length=16, required=False, allow_blank=True)
    stateOrProvince = serializers.CharField(max_length=80, required=False, allow_blank=True)
    country = serializers.CharField(max_length=2, required=False, allow_blank=True)


# MediumCharacteristic attribute -> ContactMedium field.
CHARACTERISTIC_FIELDS = {
    "contactType": "contact_type",
    "emailAddress": "email_address",
    "phoneNumber": "phone_number",
    "street1": "street1",
    "street2": "street2",
    "city": "city",
    "postCode": "post_code",
    "stateOrProvince": "state_or_province",
    "country": "country",
}


class ContactMediumSerializer(serializers.Serializer):
    """A TMF632 ContactMedium: email, phone, mobile or postalAddress; at most one preferred of
    each kind (phone and mobile count as one)."""

    mediumType = serializers.ChoiceField(choices=MediumType.choices)
    preferred = serializers.BooleanField(required=False, default=False)
    characteristic = MediumCharacteristicSerializer()
    validFor = TimePeriodSerializer(required=False)

    def to_internal_value(self, data):
        attrs = super().to_internal_value(data)
        # A PATCH validates nested entries partially: what is missing, the service refuses.
        medium = {
            "medium_type": attrs.get("mediumType", ""),
            "preferred": attrs.get("preferred", False),
        }
        characteristic = attrs.get("characteristic", {})
        for name, field in CHARACTERISTIC_FIELDS.items():
            medium[field] = characteristic.get(name, "")
        return {**medium, **period_fields(attrs)}


def medium_representation(medium) -> dict:
    """A ContactMedium row, or the same fields as a dict (a billing account contact's)."""

    def get(name):
        return medium[name] if isinstance(medium, dict) else getattr(medium, name)

    characteristic = {
        name: get(field) for name, field in CHARACTERISTIC_FIELDS.items() if get(field)
    }
    body = {
        "mediumType": get("medium_type"),
        "preferred": bool(get("preferred")),
        "characteristic": characteristic,
    }
    return with_valid_for(body, get("valid_from"), get("valid_to"))


def contact_media(party: Party) -> list[dict]:
    return [medium_representation(m) for m in party.contact_media.all()]


class PaymentMethodRefSerializer(NestedSerializer):
    """Our payment methods are kinds, not stored instruments: the ref's id is the kind."""

    id = serializers.ChoiceField(choices=PaymentMethod.choices)
    name = serializers.CharField(required=False, allow_blank=True)


class RelatedPartySerializer(RefSerializer):
    role = serializers.CharField(required=False, allow_blank=True)


class AccountContactSerializer(serializers.Serializer):
    """TMF666 Contact: whom to address about the account, in which role, how to reach them."""

    contactName = serializers.CharField(max_length=160)
    contactType = serializers.ChoiceField(choices=ContactType.choices)
    partyRoleType = serializers.CharField(max_length=40, required=False, allow_blank=True)
    contactMedium = ContactMediumSerializer(many=True, required=False)
    validFor = TimePeriodSerializer(required=False)

    def to_internal_value(self, data):
        attrs = super().to_internal_value(data)
        return {
            "contact_name": attrs.get("contactName", ""),
            "contact_type": attrs.get("contactType", ""),
            "party_role_type": attrs.get("partyRoleType", ""),
            "contact_medium": attrs.get("contactMedium", []),
            **period_fields(attrs),
        }


def account_contact_representation(contact: BillingAccountContact) -> dict:
    body = {
        "contactName": contact.contact_name,
        "contactType": contact.contact_type,
        "partyRoleType": contact.party_role_type,
        "contactMedium": [medium_representation(m) for m in contact.contact_medium],
    }
    return with_valid_for(body, contact.valid_from, contact.valid_to)


def customer_from_related_party(
    parties: list[dict],
    *,
    missing: str = "The Customer is required.",
    several: str = "Only one Customer can be given.",
) -> Customer:
    """The one `Customer` among the related parties; ValidationError (`missing`, `several`, or
    naming the item whose customer does not exist) otherwise."""
    customers = [p for p in parties if p.get("referred_type", "Customer") == "Customer"]
    if not customers:
        raise serializers.ValidationError(missing)
    if len(customers) > 1:
        raise serializers.ValidationError(several)
    index = parties.index(customers[0])
    raw = customers[0]["id"]
    customer = row_with_id(Customer.objects, raw)
    if customer is None:
        raise serializers.ValidationError({index: {"id": f"Customer '{raw}' does not exist."}})
    return customer


def party_from_ref(ref: dict) -> Party:
    """The Individual or Organization a party ref names; ValidationError naming `id` (no such
    party) or `@referredType` (the party is of the other kind)."""
    party = row_with_id(Party.objects, ref["id"])
    if party is None:
        raise serializers.ValidationError({"id": f"Party '{ref['id']}' does not exist."})
    referred = ref.get("referred_type")
    if referred and referred != party.referred_type:
        raise serializers.ValidationError(
            {"@referredType": f"Party '{ref['id']}' is an {party.referred_type}."}
        )
    return party


def party_from_related_party(parties: list[dict]) -> Party | None:
    """The one Individual or Organization among the related parties (the owner), None when
    there is none (whether an account needs one is the service's rule)."""
    owners = [p for p in parties if p.get("referred_type", "") in ("", *PARTY_TYPES.values())]
    if not owners:
        return None
    if len(owners) > 1:
        raise serializers.ValidationError("Only one party can own an account.")
    index = parties.index(owners[0])
    try:
        return party_from_ref(owners[0])
    except serializers.ValidationError as error:
        raise serializers.ValidationError({index: error.detail}) from None

"""TMF632 Party, TMF629 Customer, TMF666 Billing Account, TMF621 Trouble Ticket and TMF683
Party Interaction."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.api.bill_structure import BillStructureSerializer, bill_structure_representation
from crm.choices import (
    INTERACTION_RELATED_ENTITY_TYPES,
    LOGGED_CHANNELS,
    TICKET_RELATED_ENTITY_TYPES,
    AccountState,
    ContactType,
    CustomerStatus,
    IdentificationType,
    InteractionDirection,
    MediumType,
    PartyKind,
    PaymentMethod,
    Segment,
    TicketSeverity,
    TicketStatus,
    TicketType,
)
from crm.models import (
    BillingAccount,
    BillingAccountContact,
    CreditProfile,
    Customer,
    Party,
    PartyIdentification,
    PartyInteraction,
    TroubleTicket,
)
from crm.permissions import may_see_personal_data
from telco.api.schema import RELATED_PARTY
from telco.api.serializers import (
    MoneySerializer,
    NestedSerializer,
    RefSerializer,
    TMFSerializer,
)
from telco.money import DEFAULT_CURRENCY
from telco.selectors import row_with_id

INDIVIDUAL = "crm-api:individual-detail"
ORGANIZATION = "crm-api:organization-detail"
CUSTOMER = "crm-api:customer-detail"
BILLING_ACCOUNT = "crm-api:billingAccount-detail"
TROUBLE_TICKET = "crm-api:troubleTicket-detail"

PARTY_INTERACTION = "crm-api:partyInteraction-detail"


def party_ref(serializer: TMFSerializer, party: Party) -> dict:
    url_name = ORGANIZATION if party.kind == PartyKind.ORGANIZATION else INDIVIDUAL
    return serializer.ref(party, url_name, party.referred_type, name=party.display_name)


def _datetime(value) -> str | None:
    return serializers.DateTimeField().to_representation(value) if value else None


def with_valid_for(body: dict, valid_from, valid_to) -> dict:
    """`body` with `validFor`, a TMF TimePeriod, when a bound is set; bounds that are not set
    are left out."""
    period = {}
    if valid_from:
        period["startDateTime"] = _datetime(valid_from)
    if valid_to:
        period["endDateTime"] = _datetime(valid_to)
    if period:
        body["validFor"] = period
    return body


class TimePeriodSerializer(serializers.Serializer):
    startDateTime = serializers.DateTimeField(required=False, allow_null=True)
    endDateTime = serializers.DateTimeField(required=False, allow_null=True)


def _period_fields(data: dict, start: str = "valid_from", end: str = "valid_to") -> dict:
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
        return {**medium, **_period_fields(attrs)}


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


class IdentificationSerializer(serializers.Serializer):
    """TMF632 Individual/OrganizationIdentification; `issuingCountry` (ISO 3166 alpha-2) is an
    extension: a document is unique per type, number, issuing authority and country."""

    identificationType = serializers.ChoiceField(choices=IdentificationType.choices)
    identificationId = serializers.CharField(max_length=64)
    issuingAuthority = serializers.CharField(max_length=120, required=False, allow_blank=True)
    issuingCountry = serializers.CharField(max_length=2, required=False, allow_blank=True)
    issuingDate = serializers.DateField(required=False, allow_null=True)
    validFor = TimePeriodSerializer(required=False)

    def to_internal_value(self, data):
        attrs = super().to_internal_value(data)
        return {
            "identification_type": attrs.get("identificationType", ""),
            "identification_id": attrs.get("identificationId", ""),
            "issuing_authority": attrs.get("issuingAuthority", ""),
            "issuing_country": attrs.get("issuingCountry", ""),
            "issuing_date": attrs.get("issuingDate"),
            **_period_fields(attrs),
        }


def identification_representation(document: PartyIdentification) -> dict:
    body = {
        "identificationType": document.identification_type,
        "identificationId": document.identification_id,
        "issuingAuthority": document.issuing_authority,
        "issuingCountry": document.issuing_country,
        "issuingDate": document.issuing_date.isoformat() if document.issuing_date else None,
    }
    return with_valid_for(body, document.valid_from, document.valid_to)


def shows_personal_data(serializer: serializers.Serializer) -> bool:
    """Whether the requesting user may see identification documents, birth dates and credit
    profiles (`crm.permissions`); without a request, no."""
    request = serializer.context.get("request")
    return request is not None and may_see_personal_data(request.user)


class PartySerializer(TMFSerializer):
    """Shared by Individual and Organization: `contactMedium` and the identification list
    (`individualIdentification` or `organizationIdentification`) are read and written whole.

    Identifications (and an individual's `birthDate`) are left out for roles that may not see
    personal data (the NOC).
    """

    identification_attribute = ""
    contactMedium = ContactMediumSerializer(many=True, required=False, write_only=True)

    def to_internal_value(self, data):
        attrs = super().to_internal_value(data)
        if "contactMedium" in attrs:
            attrs["contact_media"] = attrs.pop("contactMedium")
        if self.identification_attribute in attrs:
            attrs["identifications"] = attrs.pop(self.identification_attribute)
        return attrs

    def to_representation(self, instance):
        body = super().to_representation(instance)
        body["contactMedium"] = contact_media(instance)
        if not shows_personal_data(self):
            body.pop("birthDate", None)
            return body
        body[self.identification_attribute] = [
            identification_representation(d) for d in instance.identifications.all()
        ]
        return body


class IndividualSerializer(PartySerializer):
    """TMF632 Individual."""

    tmf_type = "Individual"
    url_name = INDIVIDUAL

    identification_attribute = "individualIdentification"

    givenName = serializers.CharField(source="given_name", max_length=80, required=False)
    familyName = serializers.CharField(source="family_name", max_length=80)
    birthDate = serializers.DateField(source="birth_date", required=False, allow_null=True)
    fullName = serializers.CharField(source="display_name", read_only=True)
    individualIdentification = IdentificationSerializer(many=True, required=False, write_only=True)

    class Meta:
        model = Party
        fields = [
            "givenName",
            "familyName",
            "fullName",
            "birthDate",
            "contactMedium",
            "individualIdentification",
        ]


class OrganizationSerializer(PartySerializer):
    """TMF632 Organization: `name` and `tradingName` are the same stored name."""

    tmf_type = "Organization"
    url_name = ORGANIZATION

    identification_attribute = "organizationIdentification"

    name = serializers.CharField(source="organization_name", max_length=160, required=False)
    tradingName = serializers.CharField(max_length=160, required=False, write_only=True)
    organizationIdentification = IdentificationSerializer(
        many=True, required=False, write_only=True
    )

    class Meta:
        model = Party
        fields = ["name", "tradingName", "contactMedium", "organizationIdentification"]

    def validate(self, attrs):
        trading_name = attrs.pop("tradingName", None)
        if trading_name and "organization_name" not in attrs:
            attrs["organization_name"] = trading_name
        if not self.partial and not attrs.get("organization_name"):
            raise serializers.ValidationError({"name": "This field is required."})
        return attrs

    def to_representation(self, instance):
        body = super().to_representation(instance)
        body["tradingName"] = instance.organization_name
        return body


class CreditProfileSerializer(serializers.Serializer):
    """TMF629 CreditProfile: score 0-999, risk rating 1 (lowest risk) to 5."""

    creditProfileDate = serializers.DateTimeField(required=False, allow_null=True)
    creditScore = serializers.IntegerField(min_value=0, max_value=999)
    creditRiskRating = serializers.IntegerField(min_value=1, max_value=5)
    validFor = TimePeriodSerializer(required=False)

    def to_internal_value(self, data):
        attrs = super().to_internal_value(data)
        return {
            "credit_profile_date": attrs.get("creditProfileDate"),
            "credit_score": attrs.get("creditScore"),
            "credit_risk_rating": attrs.get("creditRiskRating"),
            **_period_fields(attrs),
        }


def credit_profile_representation(profile: CreditProfile) -> dict:
    body = {
        "creditProfileDate": _datetime(profile.credit_profile_date),
        "creditScore": profile.credit_score,
        "creditRiskRating": profile.credit_risk_rating,
    }
    return with_valid_for(body, profile.valid_from, profile.valid_to)


class CustomerSerializer(TMFSerializer):
    """TMF629 Customer.

    The market segment (consumer, smallBusiness, enterprise) is the extension attribute
    `customerCategory`: TMF629 has no segment attribute, and a plain value is easier to filter
    and patch than a `characteristic` entry. `status` starts `approved` (not taken from POST).
    `creditProfile` is left out for roles that may not see personal data (the NOC).
    """

    tmf_type = "Customer"
    url_name = CUSTOMER

    status = serializers.ChoiceField(choices=CustomerStatus.choices, required=False)
    customerCategory = serializers.ChoiceField(
        source="segment", choices=Segment.choices, required=False
    )
    engagedParty = RefSerializer(write_only=True)
    creditProfile = CreditProfileSerializer(
        source="credit_profiles", many=True, required=False, write_only=True
    )

    class Meta:
        model = Customer
        fields = ["name", "status", "customerCategory", "engagedParty", "creditProfile"]

    def validate_engagedParty(self, ref):
        party = row_with_id(Party.objects, ref["id"])
        if party is None:
            raise serializers.ValidationError({"id": f"Party '{ref['id']}' does not exist."})
        referred = ref.get("referred_type")
        if referred and referred != party.referred_type:
            raise serializers.ValidationError(
                {"@referredType": f"Party '{ref['id']}' is an {party.referred_type}."}
            )
        return party

    def to_representation(self, instance):
        body = super().to_representation(instance)
        body["engagedParty"] = party_ref(self, instance.party)
        body["account"] = [
            self.ref(a, BILLING_ACCOUNT, "BillingAccount", name=a.name)
            for a in instance.accounts.all()
        ]
        body["contactMedium"] = contact_media(instance.party)
        if shows_personal_data(self):
            body["creditProfile"] = [
                credit_profile_representation(p) for p in instance.credit_profiles.all()
            ]
        return body


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
            **_period_fields(attrs),
        }


def account_contact_representation(contact: BillingAccountContact) -> dict:
    body = {
        "contactName": contact.contact_name,
        "contactType": contact.contact_type,
        "partyRoleType": contact.party_role_type,
        "contactMedium": [medium_representation(m) for m in contact.contact_medium],
    }
    return with_valid_for(body, contact.valid_from, contact.valid_to)


class BillingAccountSerializer(TMFSerializer):
    """TMF666 BillingAccount.

    - `relatedParty`: the owning customer (`@referredType` "Customer", role "owner"); required.
    - `billStructure` names rows of `/billingCycleSpecification`, `/billFormat` and
      `/billPresentationMedia` (by id or name; see `crm.api.bill_structure`). The cycle's
      `billingDateShift` is the bill cycle day (1-28); the extension `billCycleDay` carries the
      same value, for clients that prefer a plain number: setting it alone moves the account to
      the standard monthly cycle of that day. A PATCH changes only the parts of `billStructure`
      it names; `format: null` removes the format.
    - `creditLimit` and `state` are changed by finance (and admins) only.
    - `currency` (ISO 4217, extension attribute) is fixed at creation.
    - `defaultPaymentMethod` is a ref whose id is directDebit, card or bankTransfer.
    - `accountNumber` (extension) is generated by the server, e.g. "BA00000042".
    - `accountType` is always "postpaid": accounts are billed by bill runs.
    """

    tmf_type = "BillingAccount"
    url_name = BILLING_ACCOUNT

    accountNumber = serializers.CharField(source="account_number", read_only=True)
    state = serializers.ChoiceField(choices=AccountState.choices, required=False)
    currency = serializers.CharField(min_length=3, max_length=3, required=False)
    creditLimit = MoneySerializer(required=False, write_only=True)
    billStructure = BillStructureSerializer(required=False, write_only=True)
    billCycleDay = serializers.IntegerField(
        source="bill_cycle_day", min_value=1, max_value=28, required=False
    )
    defaultPaymentMethod = PaymentMethodRefSerializer(required=False, write_only=True)
    relatedParty = RelatedPartySerializer(many=True, write_only=True)
    lastModified = serializers.DateTimeField(source="last_update", read_only=True)
    contact = AccountContactSerializer(
        source="contacts", many=True, required=False, write_only=True
    )

    class Meta:
        model = BillingAccount
        fields = [
            "name",
            "accountNumber",
            "state",
            "currency",
            "creditLimit",
            "billStructure",
            "billCycleDay",
            "defaultPaymentMethod",
            "relatedParty",
            "lastModified",
            "contact",
        ]

    def validate_relatedParty(self, parties):
        return customer_from_related_party(
            parties,
            missing="The owning Customer is required.",
            several="Only one Customer can own an account.",
        )

    def validate(self, attrs):
        structure = attrs.pop("billStructure", None)
        if structure is not None:
            day = structure.pop("bill_cycle_day", None)
            if day is not None:
                if attrs.get("bill_cycle_day", day) != day:
                    raise serializers.ValidationError(
                        {"billCycleDay": "Differs from billStructure.cycleSpecification."}
                    )
                attrs["bill_cycle_day"] = day
            attrs.update(structure)
        if "creditLimit" in attrs:
            money = attrs.pop("creditLimit")
            current = self.instance.currency if self.instance else DEFAULT_CURRENCY
            currency = attrs.get("currency") or current
            if money["unit"].upper() != currency.upper():
                raise serializers.ValidationError(
                    {"creditLimit.unit": f"The account's currency is {currency}."}
                )
            attrs["credit_limit"] = money["value"]
        if "defaultPaymentMethod" in attrs:
            attrs["payment_method"] = attrs.pop("defaultPaymentMethod")["id"]
        if "relatedParty" in attrs:
            attrs["customer"] = attrs.pop("relatedParty")
        return attrs

    def to_representation(self, instance):
        body = super().to_representation(instance)
        customer = instance.customer
        body["accountType"] = "postpaid"
        body["creditLimit"] = self.money(instance.credit_limit, instance.currency)
        body["billStructure"] = bill_structure_representation(
            self.request, instance, day=instance.bill_cycle_day
        )
        body["defaultPaymentMethod"] = {
            "id": instance.payment_method,
            "name": instance.get_payment_method_display(),
            "@referredType": "PaymentMethod",
        }
        body["relatedParty"] = [
            {**self.ref(customer, CUSTOMER, "Customer", name=customer.name), "role": "owner"}
        ]
        body["contact"] = [account_contact_representation(c) for c in instance.contacts.all()]
        return body


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


@extend_schema_field({"type": "string", "enum": ["1", "2", "3", "4"]})
class PriorityField(serializers.IntegerField):
    """TMF621 spells the priority as a string; we keep 1 (most urgent) to 4."""

    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=4, **kwargs)

    def to_representation(self, value):
        return str(value)


@extend_schema_field(RELATED_PARTY)  # same shape: an entity ref with a role
class RelatedEntityField(serializers.Field):
    """A TMF621 RelatedEntity: {id, @referredType, name, role}, an up-the-stack reference."""

    def __init__(self, *, types: tuple[str, ...] = TICKET_RELATED_ENTITY_TYPES, **kwargs):
        super().__init__(**kwargs)
        self.types = types

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("A related entity is a JSON object.")
        errors = {}
        entity_id = str(data.get("id", "")).strip()
        if not entity_id:
            errors["id"] = ["This field is required."]
        referred = data.get("@referredType")
        if referred not in self.types:
            errors["@referredType"] = [f"One of {', '.join(self.types)} is required."]
        if errors:
            raise serializers.ValidationError(errors)
        entity = {"id": entity_id, "@referredType": referred}
        for key in ("name", "role", "href"):
            if data.get(key):
                entity[key] = str(data[key])
        return entity

    def to_representation(self, value):
        return value


class NoteSerializer(serializers.Serializer):
    """An incoming note; the server stamps its date (and its author, when none is given)."""

    author = serializers.CharField(max_length=150, required=False, allow_blank=True)
    date = serializers.CharField(required=False, allow_blank=True)
    text = serializers.CharField()


class TroubleTicketSerializer(TMFSerializer):
    """TMF621 TroubleTicket.

    - `relatedParty`: the customer (`@referredType` "Customer"); required on create.
    - `relatedEntity`: [{id, @referredType, name, role}] for Service, Product, ProductOrder or
      CustomerBill; references by id and type only.
    - `status` starts acknowledged; a PATCH moves it along the lifecycle, with
      `statusChangeReason` recorded in `statusChange`.
    - `note`: a PATCH appends the notes it carries (notes already on the ticket are skipped).
    - Extensions: `assignee`, `expectedResponseDate`, `responseBreached`, `resolutionBreached`.
    """

    tmf_type = "TroubleTicket"
    url_name = TROUBLE_TICKET

    description = serializers.CharField()
    severity = serializers.ChoiceField(choices=TicketSeverity.choices)
    ticketType = serializers.ChoiceField(source="ticket_type", choices=TicketType.choices)
    priority = PriorityField(required=False)
    status = serializers.ChoiceField(choices=TicketStatus.choices, required=False)
    statusChangeReason = serializers.CharField(
        source="status_change_reason", required=False, allow_blank=True
    )
    assignee = serializers.CharField(max_length=150, required=False, allow_blank=True)
    creationDate = serializers.DateTimeField(source="created_at", read_only=True)
    lastUpdate = serializers.DateTimeField(source="last_update", read_only=True)
    expectedResponseDate = serializers.DateTimeField(
        source="expected_response_date", read_only=True
    )
    expectedResolutionDate = serializers.DateTimeField(
        source="expected_resolution_date", read_only=True
    )
    resolutionDate = serializers.DateTimeField(source="resolution_date", read_only=True)
    responseBreached = serializers.BooleanField(source="is_response_breached", read_only=True)
    resolutionBreached = serializers.BooleanField(source="is_resolution_breached", read_only=True)
    relatedParty = RelatedPartySerializer(many=True, write_only=True)
    relatedEntity = serializers.ListField(
        source="related_entities", child=RelatedEntityField(), required=False
    )
    note = NoteSerializer(source="notes", many=True, required=False, write_only=True)

    class Meta:
        model = TroubleTicket
        fields = [
            "name",
            "description",
            "severity",
            "priority",
            "ticketType",
            "status",
            "statusChangeReason",
            "assignee",
            "creationDate",
            "lastUpdate",
            "expectedResponseDate",
            "expectedResolutionDate",
            "resolutionDate",
            "responseBreached",
            "resolutionBreached",
            "relatedParty",
            "relatedEntity",
            "note",
        ]
        extra_kwargs = {"name": {"required": False, "allow_blank": True}}

    def validate_relatedParty(self, parties):
        return customer_from_related_party(parties)

    def validate_status(self, value):
        if self.instance is None and value != TicketStatus.ACKNOWLEDGED:
            raise serializers.ValidationError("A new ticket is acknowledged.")
        return value

    def validate(self, attrs):
        if "relatedParty" in attrs:
            attrs["customer"] = attrs.pop("relatedParty")
        return attrs

    def to_representation(self, instance):
        body = super().to_representation(instance)
        customer = instance.customer
        body["relatedParty"] = [
            {**self.ref(customer, CUSTOMER, "Customer", name=customer.name), "role": "customer"}
        ]
        body["note"] = list(instance.notes)
        # The prefetched history, in order; the creation row has no from-state.
        changes = list(instance.history.all())
        body["statusChange"] = [
            {
                "status": change.to_state,
                "changeDate": serializers.DateTimeField().to_representation(change.changed_at),
                "changeReason": change.reason,
            }
            for change in changes
        ]
        body["statusChangeDate"] = body["statusChange"][-1]["changeDate"] if changes else None
        return body


class ChannelRefSerializer(serializers.Serializer):
    """A TMF683 channel reference; its `id` (or `name`) is the channel: phone, email, visit,
    chat (notification is the server's own)."""

    id = serializers.CharField(required=False)
    name = serializers.CharField(required=False)

    def validate(self, attrs):
        code = attrs.get("id") or attrs.get("name")
        if code not in LOGGED_CHANNELS:
            raise serializers.ValidationError({"id": f"One of {', '.join(LOGGED_CHANNELS)}."})
        return code


class PartyInteractionSerializer(TMFSerializer):
    """TMF683 PartyInteraction: a contact with the customer.

    - `relatedParty`: the customer (`@referredType` "Customer"); required on create.
    - `channel`: one channel reference, e.g. `[{"id": "phone"}]`.
    - `interactionDate`: a TimePeriod; the start defaults to now.
    - `relatedEntity`: [{id, @referredType, name, role}]: tickets, services, products, bills,
      incidents the contact was about (by id and type only).
    - `note`: the notes; a PATCH appends the ones it carries, and nothing else may change.
    - `status` is the server's: completed for a logged contact, sent or failed for a
      notification (`statusReason` then says why); `subject`, `recipient` and `createdBy` are
      extensions.
    """

    tmf_type = "PartyInteraction"
    url_name = PARTY_INTERACTION

    description = serializers.CharField(required=False, allow_blank=True)
    reason = serializers.CharField(max_length=160)
    direction = serializers.ChoiceField(choices=InteractionDirection.choices)
    channel = ChannelRefSerializer(many=True, write_only=True)
    interactionDate = TimePeriodSerializer(required=False, write_only=True)
    relatedParty = RelatedPartySerializer(many=True, write_only=True)
    relatedEntity = serializers.ListField(
        source="related_entities",
        child=RelatedEntityField(types=INTERACTION_RELATED_ENTITY_TYPES),
        required=False,
    )
    note = NoteSerializer(source="notes", many=True, required=False, write_only=True)
    status = serializers.CharField(read_only=True)
    statusReason = serializers.CharField(source="error", read_only=True)
    subject = serializers.CharField(read_only=True)
    recipient = serializers.CharField(read_only=True)
    createdBy = serializers.CharField(source="created_by", read_only=True)

    class Meta:
        model = PartyInteraction
        fields = [
            "description",
            "reason",
            "direction",
            "channel",
            "interactionDate",
            "relatedParty",
            "relatedEntity",
            "note",
            "status",
            "statusReason",
            "subject",
            "recipient",
            "createdBy",
        ]

    def validate_channel(self, channels):
        if len(channels) != 1:
            raise serializers.ValidationError("Exactly one channel.")
        return channels[0]

    def validate_relatedParty(self, parties):
        return customer_from_related_party(parties)

    def validate(self, attrs):
        if "relatedParty" in attrs:
            attrs["customer"] = attrs.pop("relatedParty")
        if "interactionDate" in attrs:
            period = attrs.pop("interactionDate")
            attrs["interaction_date"] = period.get("startDateTime")
            attrs["end_date"] = period.get("endDateTime")
        return attrs

    def to_representation(self, instance):
        body = super().to_representation(instance)
        customer = instance.customer
        body["channel"] = [
            {
                "id": instance.channel,
                "name": instance.get_channel_display(),
                "@referredType": "Channel",
            }
        ]
        body["interactionDate"] = {
            "startDateTime": _datetime(instance.interaction_date),
            **({"endDateTime": _datetime(instance.end_date)} if instance.end_date else {}),
        }
        body["relatedParty"] = [
            {**self.ref(customer, CUSTOMER, "Customer", name=customer.name), "role": "customer"}
        ]
        body["note"] = list(instance.notes)
        return body

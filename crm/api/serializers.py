"""TMF632 Party, TMF629 Customer, TMF666 Billing Account and TMF621 Trouble Ticket."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.choices import (
    TICKET_RELATED_ENTITY_TYPES,
    AccountState,
    CustomerStatus,
    PartyKind,
    PaymentMethod,
    Segment,
    TicketSeverity,
    TicketStatus,
    TicketType,
)
from crm.models import BillingAccount, Customer, Party, TroubleTicket
from telco.api.schema import RELATED_PARTY
from telco.api.serializers import MoneySerializer, RefSerializer, TMFSerializer

INDIVIDUAL = "crm-api:individual-detail"
ORGANIZATION = "crm-api:organization-detail"
CUSTOMER = "crm-api:customer-detail"
BILLING_ACCOUNT = "crm-api:billingAccount-detail"
TROUBLE_TICKET = "crm-api:troubleTicket-detail"

MEDIUM_TYPES = ("email", "phone", "postalAddress")


def party_ref(serializer: TMFSerializer, party: Party) -> dict:
    url_name = ORGANIZATION if party.kind == PartyKind.ORGANIZATION else INDIVIDUAL
    return serializer.ref(party, url_name, party.referred_type, name=party.display_name)


class MediumCharacteristicSerializer(serializers.Serializer):
    emailAddress = serializers.EmailField(required=False, allow_blank=True)
    phoneNumber = serializers.CharField(max_length=32, required=False, allow_blank=True)
    street1 = serializers.CharField(max_length=160, required=False, allow_blank=True)
    city = serializers.CharField(max_length=80, required=False, allow_blank=True)
    postCode = serializers.CharField(max_length=16, required=False, allow_blank=True)
    country = serializers.CharField(min_length=2, max_length=2, required=False)


class ContactMediumSerializer(serializers.Serializer):
    mediumType = serializers.ChoiceField(choices=MEDIUM_TYPES)
    preferred = serializers.BooleanField(required=False)
    characteristic = MediumCharacteristicSerializer()


def contact_fields(media: list[dict]) -> dict:
    """contactMedium -> Party fields. A merge patch replaces the whole array, so media left out
    are cleared (the country stays: it also scopes phone numbers)."""
    fields = {"email": "", "phone": "", "street": "", "city": "", "postcode": ""}
    for medium in media:
        characteristic = medium["characteristic"]
        if medium["mediumType"] == "email":
            fields["email"] = characteristic.get("emailAddress", "")
        elif medium["mediumType"] == "phone":
            fields["phone"] = characteristic.get("phoneNumber", "")
        else:
            fields["street"] = characteristic.get("street1", "")
            fields["city"] = characteristic.get("city", "")
            fields["postcode"] = characteristic.get("postCode", "")
            if characteristic.get("country"):
                fields["country"] = characteristic["country"].upper()
    return fields


def contact_media(party: Party) -> list[dict]:
    media = []
    if party.email:
        media.append({"mediumType": "email", "characteristic": {"emailAddress": party.email}})
    if party.phone:
        media.append({"mediumType": "phone", "characteristic": {"phoneNumber": party.phone}})
    if party.street or party.city or party.postcode:
        media.append(
            {
                "mediumType": "postalAddress",
                "characteristic": {
                    "street1": party.street,
                    "city": party.city,
                    "postCode": party.postcode,
                    "country": party.country,
                },
            }
        )
    return media


class PartySerializer(TMFSerializer):
    contactMedium = ContactMediumSerializer(many=True, required=False, write_only=True)

    def to_internal_value(self, data):
        attrs = super().to_internal_value(data)
        if "contactMedium" in attrs:
            attrs.update(contact_fields(attrs.pop("contactMedium")))
        return attrs

    def to_representation(self, instance):
        body = super().to_representation(instance)
        body["contactMedium"] = contact_media(instance)
        return body


class IndividualSerializer(PartySerializer):
    """TMF632 Individual."""

    tmf_type = "Individual"
    url_name = INDIVIDUAL

    givenName = serializers.CharField(source="given_name", max_length=80, required=False)
    familyName = serializers.CharField(source="family_name", max_length=80)
    birthDate = serializers.DateField(source="birth_date", required=False, allow_null=True)
    fullName = serializers.CharField(source="display_name", read_only=True)

    class Meta:
        model = Party
        fields = ["givenName", "familyName", "fullName", "birthDate", "contactMedium"]


class OrganizationSerializer(PartySerializer):
    """TMF632 Organization: `name` and `tradingName` are the same stored name."""

    tmf_type = "Organization"
    url_name = ORGANIZATION

    name = serializers.CharField(source="organization_name", max_length=160, required=False)
    tradingName = serializers.CharField(max_length=160, required=False, write_only=True)

    class Meta:
        model = Party
        fields = ["name", "tradingName", "contactMedium"]

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


class CustomerSerializer(TMFSerializer):
    """TMF629 Customer.

    The market segment (consumer, smallBusiness, enterprise) is the extension attribute
    `customerCategory`: TMF629 has no segment attribute, and a plain value is easier to filter
    and patch than a `characteristic` entry. `status` starts `approved` (not taken from POST).
    """

    tmf_type = "Customer"
    url_name = CUSTOMER

    status = serializers.ChoiceField(choices=CustomerStatus.choices, required=False)
    customerCategory = serializers.ChoiceField(
        source="segment", choices=Segment.choices, required=False
    )
    engagedParty = RefSerializer(write_only=True)

    class Meta:
        model = Customer
        fields = ["name", "status", "customerCategory", "engagedParty"]

    def validate_engagedParty(self, ref):
        party = Party.objects.filter(pk=int(ref["id"]) if ref["id"].isdigit() else None).first()
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
        return body


class CycleSpecificationSerializer(serializers.Serializer):
    billingDateShift = serializers.IntegerField(min_value=1, max_value=28)


class BillStructureSerializer(serializers.Serializer):
    cycleSpecification = CycleSpecificationSerializer()


class PaymentMethodRefSerializer(serializers.Serializer):
    """Our payment methods are kinds, not stored instruments: the ref's id is the kind."""

    id = serializers.ChoiceField(choices=PaymentMethod.choices)
    name = serializers.CharField(required=False, allow_blank=True)


class RelatedPartySerializer(RefSerializer):
    role = serializers.CharField(required=False, allow_blank=True)


class BillingAccountSerializer(TMFSerializer):
    """TMF666 BillingAccount.

    - `relatedParty`: the owning customer (`@referredType` "Customer", role "owner"); required.
    - `billStructure.cycleSpecification.billingDateShift` is the bill cycle day (1-28); the
      extension `billCycleDay` carries the same value, for clients that prefer a plain number.
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
        ]

    def validate_relatedParty(self, parties):
        customers = [p for p in parties if p.get("referred_type", "Customer") == "Customer"]
        if not customers:
            raise serializers.ValidationError("The owning Customer is required.")
        if len(customers) > 1:
            raise serializers.ValidationError("Only one Customer can own an account.")
        index = parties.index(customers[0])
        raw = customers[0]["id"]
        customer = Customer.objects.filter(pk=int(raw) if raw.isdigit() else None).first()
        if customer is None:
            raise serializers.ValidationError({index: {"id": f"Customer '{raw}' does not exist."}})
        return customer

    def validate(self, attrs):
        structure = attrs.pop("billStructure", None)
        if structure is not None:
            day = structure["cycleSpecification"]["billingDateShift"]
            if attrs.get("bill_cycle_day", day) != day:
                raise serializers.ValidationError(
                    {"billCycleDay": "Differs from billStructure.cycleSpecification."}
                )
            attrs["bill_cycle_day"] = day
        if "creditLimit" in attrs:
            money = attrs.pop("creditLimit")
            currency = attrs.get("currency") or (self.instance.currency if self.instance else "EUR")
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
        body["billStructure"] = {
            "cycleSpecification": {"billingDateShift": instance.bill_cycle_day}
        }
        body["defaultPaymentMethod"] = {
            "id": instance.payment_method,
            "name": instance.get_payment_method_display(),
            "@referredType": "PaymentMethod",
        }
        body["relatedParty"] = [
            {**self.ref(customer, CUSTOMER, "Customer", name=customer.name), "role": "owner"}
        ]
        return body


def customer_from_related_party(parties: list[dict]) -> Customer:
    """The one `Customer` among the related parties; ValidationError naming the item."""
    customers = [p for p in parties if p.get("referred_type", "Customer") == "Customer"]
    if not customers:
        raise serializers.ValidationError("The Customer is required.")
    if len(customers) > 1:
        raise serializers.ValidationError("Only one Customer can be given.")
    index = parties.index(customers[0])
    raw = customers[0]["id"]
    customer = Customer.objects.filter(pk=int(raw) if raw.isdigit() else None).first()
    if customer is None:
        raise serializers.ValidationError({index: {"id": f"Customer '{raw}' does not exist."}})
    return customer


class PriorityField(serializers.IntegerField):
    """TMF621 spells the priority as a string; we keep 1 (most urgent) to 4."""

    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=4, **kwargs)

    def to_representation(self, value):
        return str(value)


@extend_schema_field(RELATED_PARTY)  # same shape: an entity ref with a role
class RelatedEntityField(serializers.Field):
    """A TMF621 RelatedEntity: {id, @referredType, name, role}, an up-the-stack reference."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("A related entity is a JSON object.")
        errors = {}
        entity_id = str(data.get("id", "")).strip()
        if not entity_id:
            errors["id"] = ["This field is required."]
        referred = data.get("@referredType")
        if referred not in TICKET_RELATED_ENTITY_TYPES:
            errors["@referredType"] = [
                f"One of {', '.join(TICKET_RELATED_ENTITY_TYPES)} is required."
            ]
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

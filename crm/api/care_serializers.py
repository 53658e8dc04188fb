"""TMF621 TroubleTicket and TMF683 PartyInteraction: customer care."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.api.tmf_common import (
    CUSTOMER,
    PARTY_INTERACTION,
    TROUBLE_TICKET,
    RelatedPartySerializer,
    TimePeriodSerializer,
    customer_from_related_party,
    tmf_datetime,
)
from crm.choices import (
    INTERACTION_RELATED_ENTITY_TYPES,
    LOGGED_CHANNELS,
    TICKET_RELATED_ENTITY_TYPES,
    InteractionDirection,
    TicketSeverity,
    TicketStatus,
    TicketType,
)
from crm.models import PartyInteraction, TroubleTicket
from telco.api.schema import RELATED_PARTY
from telco.api.serializers import TMFSerializer


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
            "startDateTime": tmf_datetime(instance.interaction_date),
            **({"endDateTime": tmf_datetime(instance.end_date)} if instance.end_date else {}),
        }
        body["relatedParty"] = [
            {**self.ref(customer, CUSTOMER, "Customer", name=customer.name), "role": "customer"}
        ]
        body["note"] = list(instance.notes)
        return body

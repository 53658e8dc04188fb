"""TMF632 Party, TMF629 Customer, TMF666 Billing Account, TMF621 Trouble Ticket and TMF683
Party Interaction endpoints."""

from rest_framework.exceptions import PermissionDenied

from crm import selectors, services
from crm.api.serializers import (
    BillingAccountSerializer,
    CustomerSerializer,
    IndividualSerializer,
    OrganizationSerializer,
    PartyInteractionSerializer,
    TroubleTicketSerializer,
)
from crm.choices import PartyKind, TicketType
from crm.permissions import check_may_change_account, may_see_personal_data
from telco.api.views import TMFCreateMixin, TMFPatchMixin, TMFViewSet
from telco.exceptions import Forbidden
from telco.roles import ADMIN, AGENT, FINANCE, NOC, user_roles

CRM_READERS = (AGENT, NOC, FINANCE)


def _check_personal_filters(request, attributes: tuple[str, ...]) -> None:
    """A role that may not see personal data may not filter on it either (the matches would
    tell the value): 403 naming the parameter."""
    if may_see_personal_data(request.user):
        return
    for parameter in request.query_params:
        if parameter.split(".")[0] in attributes:
            raise Forbidden("Your role may not read or filter on this attribute.", field=parameter)


class PersonalDataMixin:
    """Views whose representation carries personal data (`personal_attributes`): the
    serializer leaves it out for roles that may not see it, and filters on it are refused."""

    personal_attributes: tuple[str, ...] = ()

    def filter_queryset(self, queryset):
        _check_personal_filters(self.request, self.personal_attributes)
        return super().filter_queryset(queryset)


class PartyViewSet(PersonalDataMixin, TMFCreateMixin, TMFPatchMixin, TMFViewSet):
    """Individuals and organizations are one Party table; each endpoint sees only its kind."""

    kind = ""
    read_roles = CRM_READERS
    write_roles = (AGENT,)
    personal_attributes = ("birthDate", "individualIdentification", "organizationIdentification")

    def get_queryset(self):
        return selectors.party_list(kind=self.kind)

    def perform_tmf_create(self, serializer):
        return services.party_create(kind=self.kind, **serializer.validated_data)

    def perform_tmf_patch(self, instance, serializer):
        return services.party_update(party=instance, changes=serializer.validated_data)


class IndividualViewSet(PartyViewSet):
    kind = PartyKind.INDIVIDUAL
    serializer_class = IndividualSerializer
    filter_attributes = {
        "givenName": "given_name",
        "familyName": "family_name",
        "birthDate": "birth_date",
    }
    patchable_fields = (
        "givenName",
        "familyName",
        "birthDate",
        "contactMedium",
        "individualIdentification",
    )


class OrganizationViewSet(PartyViewSet):
    kind = PartyKind.ORGANIZATION
    serializer_class = OrganizationSerializer
    filter_attributes = {"name": "organization_name", "tradingName": "organization_name"}
    patchable_fields = ("name", "tradingName", "contactMedium", "organizationIdentification")


class CustomerViewSet(PersonalDataMixin, TMFCreateMixin, TMFPatchMixin, TMFViewSet):
    serializer_class = CustomerSerializer
    read_roles = CRM_READERS
    write_roles = (AGENT,)
    personal_attributes = ("creditProfile",)
    filter_attributes = {
        "name": "name",
        "status": "status",
        "customerCategory": "segment",
        "engagedParty.id": "party",
    }
    patchable_fields = ("name", "status", "customerCategory", "creditProfile")

    def get_queryset(self):
        return selectors.customer_list()

    def perform_tmf_create(self, serializer):
        data = serializer.validated_data
        return services.customer_create(
            party=data["engagedParty"],
            name=data["name"],
            credit_profiles=data.get("credit_profiles", []),
            **({"segment": data["segment"]} if "segment" in data else {}),
        )

    def perform_tmf_patch(self, instance, serializer):
        return services.customer_update(customer=instance, changes=serializer.validated_data)


class BillingAccountViewSet(TMFCreateMixin, TMFPatchMixin, TMFViewSet):
    serializer_class = BillingAccountSerializer
    read_roles = CRM_READERS
    write_roles = (AGENT, FINANCE)
    filter_attributes = {
        "name": "name",
        "accountNumber": "account_number",
        "state": "state",
        "currency": "currency",
        "relatedParty.id": "customer",
        "lastModified": "last_update",
    }
    patchable_fields = (
        "name",
        "state",
        "creditLimit",
        "defaultPaymentMethod",
        "billStructure",
        "billCycleDay",
        "contact",
    )

    def get_queryset(self):
        return selectors.billing_account_list()

    def perform_tmf_create(self, serializer):
        # The initial state is the server's: an account opens active.
        data = {k: v for k, v in serializer.validated_data.items() if k != "state"}
        if data.get("credit_limit"):
            check_may_change_account(self.request.user, ["creditLimit"])
        return services.billing_account_create(**data)

    def perform_tmf_patch(self, instance, serializer):
        check_may_change_account(self.request.user, _standing_changes(instance, serializer))
        return services.billing_account_update(
            account=instance,
            changes=serializer.validated_data,
            by=self.request.user.get_username(),
        )


def _standing_changes(account, serializer) -> list[str]:
    """The credit limit and state attributes a PATCH would change (the same value is no change)."""
    data = serializer.validated_data
    changed = []
    if "credit_limit" in data and data["credit_limit"] != account.credit_limit:
        changed.append("creditLimit")
    if "state" in data and data["state"] != account.state:
        changed.append("state")
    return changed


class TroubleTicketViewSet(TMFCreateMixin, TMFPatchMixin, TMFViewSet):
    """TMF621 trouble tickets: agents handle any ticket, the NOC handles fault tickets."""

    serializer_class = TroubleTicketSerializer
    read_roles = CRM_READERS
    write_roles = (AGENT, NOC)
    filter_attributes = {
        "status": "status",
        "severity": "severity",
        "priority": "priority",
        "ticketType": "ticket_type",
        "assignee": "assignee",
        "relatedParty.id": "customer",
        "creationDate": "created_at",
        "lastUpdate": "last_update",
        "expectedResolutionDate": "expected_resolution_date",
        "resolutionDate": "resolution_date",
    }
    patchable_fields = (
        "name",
        "description",
        "severity",
        "priority",
        "ticketType",
        "status",
        "statusChangeReason",
        "assignee",
        "relatedEntity",
        "note",
    )

    def get_queryset(self):
        # The history (for statusChange) in one more query: the list stays at 2 queries.
        return selectors.trouble_ticket_list().prefetch_related("history").order_by("id")

    def _check_may_write(self, ticket_type: str) -> None:
        roles = user_roles(self.request.user)
        if roles & {AGENT, ADMIN}:
            return
        if ticket_type != TicketType.FAULT:
            raise PermissionDenied("The NOC handles fault tickets only.")

    def perform_tmf_create(self, serializer):
        data = dict(serializer.validated_data)
        # A new ticket is acknowledged; a reason belongs to a later move.
        data.pop("status", None)
        data.pop("status_change_reason", None)
        self._check_may_write(data["ticket_type"])
        return services.trouble_ticket_create(**data, by=self.request.user.get_username())

    def perform_tmf_patch(self, instance, serializer):
        changes = dict(serializer.validated_data)
        self._check_may_write(instance.ticket_type)
        if "ticket_type" in changes:
            self._check_may_write(changes["ticket_type"])
        return services.trouble_ticket_update(
            ticket=instance, changes=changes, by=self.request.user.get_username()
        )


class PartyInteractionViewSet(TMFCreateMixin, TMFPatchMixin, TMFViewSet):
    """TMF683 party interactions: agents record contacts; the NOC and finance read them.

    A PATCH appends notes only: what happened is not rewritten.
    """

    serializer_class = PartyInteractionSerializer
    read_roles = CRM_READERS
    write_roles = (AGENT,)
    filter_attributes = {
        "relatedParty.id": "customer",
        "direction": "direction",
        "channel.id": "channel",
        "channel": "channel",
        "status": "status",
        "reason": "reason",
        "interactionDate.startDateTime": "interaction_date",
    }
    patchable_fields = ("note",)

    def get_queryset(self):
        return selectors.interaction_list()

    def perform_tmf_create(self, serializer):
        return services.party_interaction_create(
            **serializer.validated_data, by=self.request.user.get_username()
        )

    def perform_tmf_patch(self, instance, serializer):
        return services.party_interaction_add_notes(
            interaction=instance,
            notes=serializer.validated_data.get("notes", []),
            by=self.request.user.get_username(),
        )

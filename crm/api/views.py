"""TMF632 Party, TMF629 Customer and TMF666 Billing Account endpoints."""

from crm import selectors, services
from crm.api.serializers import (
    BillingAccountSerializer,
    CustomerSerializer,
    IndividualSerializer,
    OrganizationSerializer,
)
from crm.choices import PartyKind
from telco.api.views import TMFCreateMixin, TMFPatchMixin, TMFViewSet
from telco.roles import AGENT, FINANCE, NOC

CRM_READERS = (AGENT, NOC, FINANCE)


class PartyViewSet(TMFCreateMixin, TMFPatchMixin, TMFViewSet):
    """Individuals and organizations are one Party table; each endpoint sees only its kind."""

    kind = ""
    read_roles = CRM_READERS
    write_roles = (AGENT,)

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
    patchable_fields = ("givenName", "familyName", "birthDate", "contactMedium")


class OrganizationViewSet(PartyViewSet):
    kind = PartyKind.ORGANIZATION
    serializer_class = OrganizationSerializer
    filter_attributes = {"name": "organization_name", "tradingName": "organization_name"}
    patchable_fields = ("name", "tradingName", "contactMedium")


class CustomerViewSet(TMFCreateMixin, TMFPatchMixin, TMFViewSet):
    serializer_class = CustomerSerializer
    read_roles = CRM_READERS
    write_roles = (AGENT,)
    filter_attributes = {
        "name": "name",
        "status": "status",
        "customerCategory": "segment",
        "engagedParty.id": "party",
    }
    patchable_fields = ("name", "status", "customerCategory")

    def get_queryset(self):
        return selectors.customer_list()

    def perform_tmf_create(self, serializer):
        data = serializer.validated_data
        return services.customer_create(
            party=data["engagedParty"],
            name=data["name"],
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
    )

    def get_queryset(self):
        return selectors.billing_account_list()

    def perform_tmf_create(self, serializer):
        # The initial state is the server's: an account opens active.
        data = {k: v for k, v in serializer.validated_data.items() if k != "state"}
        return services.billing_account_create(**data)

    def perform_tmf_patch(self, instance, serializer):
        return services.billing_account_update(
            account=instance,
            changes=serializer.validated_data,
            by=self.request.user.get_username(),
        )

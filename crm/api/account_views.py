"""TMF666 Account Management endpoints beside the billing account: billingCycleSpecification,
billFormat, billPresentationMedia, partyAccount, settlementAccount and financialAccount.

Agents and finance read them; finance (and admins) write them: they are what accounts are
billed by and what they owe, which is finance's business.
"""

from crm import selectors, services
from crm.api.account_serializers import (
    BillFormatSerializer,
    BillingCycleSpecificationSerializer,
    BillPresentationMediaSerializer,
    FinancialAccountSerializer,
    PartyAccountSerializer,
    SettlementAccountSerializer,
)
from crm.choices import AccountKind
from telco.api.views import TMFCreateMixin, TMFPatchMixin, TMFViewSet
from telco.roles import AGENT, FINANCE

ACCOUNT_READERS = (AGENT, FINANCE)
ACCOUNT_WRITERS = (FINANCE,)


class BillingCycleSpecificationViewSet(TMFCreateMixin, TMFPatchMixin, TMFViewSet):
    serializer_class = BillingCycleSpecificationSerializer
    read_roles = ACCOUNT_READERS
    write_roles = ACCOUNT_WRITERS
    filter_attributes = {
        "name": "name",
        "billingDateShift": "billing_date_shift",
        "frequency": "frequency",
        "billingPeriod": "billing_period",
    }
    patchable_fields = (
        "name",
        "description",
        "billingDateShift",
        "billingPeriod",
        "frequency",
        "chargeDateOffset",
        "creditDateOffset",
        "mailingDateOffset",
        "paymentDueDateOffset",
        "validFor",
    )

    def get_queryset(self):
        return selectors.billing_cycle_specification_list()

    def perform_tmf_create(self, serializer):
        return services.billing_cycle_specification_create(**serializer.validated_data)

    def perform_tmf_patch(self, instance, serializer):
        return services.billing_cycle_specification_update(
            specification=instance, changes=serializer.validated_data
        )


class BillFormatViewSet(TMFCreateMixin, TMFPatchMixin, TMFViewSet):
    serializer_class = BillFormatSerializer
    read_roles = ACCOUNT_READERS
    write_roles = ACCOUNT_WRITERS
    filter_attributes = {"name": "name"}
    patchable_fields = ("name", "description")

    def get_queryset(self):
        return selectors.bill_format_list()

    def perform_tmf_create(self, serializer):
        return services.bill_format_create(**serializer.validated_data)

    def perform_tmf_patch(self, instance, serializer):
        return services.bill_format_update(bill_format=instance, changes=serializer.validated_data)


class BillPresentationMediaViewSet(TMFCreateMixin, TMFPatchMixin, TMFViewSet):
    serializer_class = BillPresentationMediaSerializer
    read_roles = ACCOUNT_READERS
    write_roles = ACCOUNT_WRITERS
    filter_attributes = {"name": "name"}
    patchable_fields = ("name", "description")

    def get_queryset(self):
        return selectors.bill_presentation_media_list()

    def perform_tmf_create(self, serializer):
        return services.bill_presentation_media_create(**serializer.validated_data)

    def perform_tmf_patch(self, instance, serializer):
        return services.bill_presentation_media_update(
            media=instance, changes=serializer.validated_data
        )


class AccountViewSet(TMFCreateMixin, TMFPatchMixin, TMFViewSet):
    """partyAccount, settlementAccount and financialAccount: one table, one endpoint per kind."""

    kind = ""
    read_roles = ACCOUNT_READERS
    write_roles = ACCOUNT_WRITERS
    filter_attributes = {
        "name": "name",
        "state": "state",
        "accountType": "account_type",
        "relatedParty.id": "party",
        "lastModified": "last_update",
    }
    patchable_fields = (
        "name",
        "description",
        "accountType",
        "state",
        "creditLimit",
        "relatedParty",
        "contact",
        "taxExemption",
        "accountRelationship",
    )

    def get_queryset(self):
        return selectors.account_list(kind=self.kind)

    def perform_tmf_create(self, serializer):
        # The initial state is the server's: an account opens active.
        data = {k: v for k, v in serializer.validated_data.items() if k != "state"}
        return services.account_create(kind=self.kind, **data)

    def perform_tmf_patch(self, instance, serializer):
        return services.account_update(
            account=instance,
            changes=serializer.validated_data,
            by=self.request.user.get_username(),
        )


OWNED_ACCOUNT_FILTERS = {
    **AccountViewSet.filter_attributes,
    "paymentStatus": "payment_status",
    "financialAccount.id": "financial_account",
}
OWNED_ACCOUNT_PATCHABLE = (
    *AccountViewSet.patchable_fields,
    "paymentStatus",
    "billStructure",
    "defaultPaymentMethod",
    "financialAccount",
    "paymentPlan",
)


class PartyAccountViewSet(AccountViewSet):
    kind = AccountKind.PARTY
    serializer_class = PartyAccountSerializer
    filter_attributes = OWNED_ACCOUNT_FILTERS
    patchable_fields = OWNED_ACCOUNT_PATCHABLE


class SettlementAccountViewSet(AccountViewSet):
    kind = AccountKind.SETTLEMENT
    serializer_class = SettlementAccountSerializer
    filter_attributes = OWNED_ACCOUNT_FILTERS
    patchable_fields = OWNED_ACCOUNT_PATCHABLE


class FinancialAccountViewSet(AccountViewSet):
    kind = AccountKind.FINANCIAL
    serializer_class = FinancialAccountSerializer

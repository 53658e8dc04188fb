"""TMF666 Account Management resources other than the billing account: billingCycleSpecification,
billFormat, billPresentationMedia, and partyAccount, settlementAccount and financialAccount."""

from types import SimpleNamespace

from rest_framework import serializers

from crm import services
from crm.api.bill_structure import (
    BillStructureSerializer,
    bill_cycle_day_field,
    bill_structure_representation,
)
from crm.api.tmf_common import (
    AccountContactSerializer,
    PaymentMethodRefSerializer,
    RelatedPartySerializer,
    TimePeriodSerializer,
    account_contact_representation,
    party_from_related_party,
    party_ref,
    period_fields,
    with_valid_for,
)
from crm.choices import AccountKind, AccountState
from crm.models import (
    Account,
    BillFormat,
    BillingCycleSpecification,
    BillPresentationMedia,
)
from crm.services.bill_structure import MAX_OFFSET_DAYS
from telco.api.serializers import MoneySerializer, RefSerializer, TMFSerializer
from telco.selectors import row_with_id

ACCOUNT_URL_NAMES = {kind: f"crm-api:{kind}-detail" for kind in AccountKind.values}
ACCOUNT_TYPES = {
    AccountKind.PARTY: "PartyAccount",
    AccountKind.SETTLEMENT: "SettlementAccount",
    AccountKind.FINANCIAL: "FinancialAccount",
}
# Offsets are days before or after the cycle date (a short int column).
OFFSET = {
    "required": False,
    "allow_null": True,
    "min_value": -MAX_OFFSET_DAYS,
    "max_value": MAX_OFFSET_DAYS,
}


class BillingCycleSpecificationSerializer(TMFSerializer):
    """TMF666 BillingCycleSpecification: `billingDateShift` is the day of the month bills are cut
    (1-28); `frequency` is monthly, the only one bill runs know. A specification accounts use
    keeps its day and frequency (409)."""

    tmf_type = "BillingCycleSpecification"
    url_name = "crm-api:billingCycleSpecification-detail"

    name = serializers.CharField(max_length=80)
    description = serializers.CharField(required=False, allow_blank=True)
    billingDateShift = bill_cycle_day_field(
        source="billing_date_shift", required=False, allow_null=True
    )
    billingPeriod = serializers.CharField(
        source="billing_period", max_length=40, required=False, allow_blank=True
    )
    frequency = serializers.CharField(max_length=16, required=False)
    chargeDateOffset = serializers.IntegerField(source="charge_date_offset", **OFFSET)
    creditDateOffset = serializers.IntegerField(source="credit_date_offset", **OFFSET)
    mailingDateOffset = serializers.IntegerField(source="mailing_date_offset", **OFFSET)
    paymentDueDateOffset = serializers.IntegerField(source="payment_due_date_offset", **OFFSET)
    validFor = TimePeriodSerializer(required=False, write_only=True)

    class Meta:
        model = BillingCycleSpecification
        fields = [
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
        ]

    def validate(self, attrs):
        if "validFor" in attrs:
            attrs.update(period_fields(attrs))
            del attrs["validFor"]
        return attrs

    def to_representation(self, instance):
        body = super().to_representation(instance)
        return with_valid_for(body, instance.valid_from, instance.valid_to)


class BillFormatSerializer(TMFSerializer):
    """TMF666 BillFormat: a bill layout accounts name in `billStructure.format`."""

    tmf_type = "BillFormat"
    url_name = "crm-api:billFormat-detail"

    name = serializers.CharField(max_length=80)
    description = serializers.CharField(required=False, allow_blank=True)

    class Meta:
        model = BillFormat
        fields = ["name", "description"]


class BillPresentationMediaSerializer(TMFSerializer):
    """TMF666 BillPresentationMedia: how bills reach the customer, named by accounts in
    `billStructure.presentationMedia`."""

    tmf_type = "BillPresentationMedia"
    url_name = "crm-api:billPresentationMedia-detail"

    name = serializers.CharField(max_length=80)
    description = serializers.CharField(required=False, allow_blank=True)

    class Meta:
        model = BillPresentationMedia
        fields = ["name", "description"]


def _declared(checker: serializers.Serializer, data: dict) -> dict:
    """`data` (valid for `checker`) with only the attributes the serializer declares, nested
    objects likewise: nothing unchecked is stored."""
    kept = {}
    for name, field in checker.fields.items():
        if name not in data:
            continue
        value = data[name]
        if isinstance(field, serializers.Serializer) and isinstance(value, dict):
            value = _declared(field, value)
        elif isinstance(field, serializers.IntegerField) and value is not None:
            value = int(value)
        kept[name] = value
    return kept


class DocumentListField(serializers.ListField):
    """A list of TMF sub-resources checked by `document` and kept as JSON, as the client sent
    them (only the attributes `document` declares)."""

    def __init__(self, document: type[serializers.Serializer], **kwargs):
        self.document = document
        super().__init__(child=serializers.JSONField(), **kwargs)

    def to_internal_value(self, data):
        items = super().to_internal_value(data)
        errors, kept = {}, []
        for index, item in enumerate(items):
            checker = self.document(data=item)
            if not checker.is_valid():
                errors[index] = checker.errors
                continue
            kept.append(_declared(checker, item))
        if errors:
            raise serializers.ValidationError(errors)
        return kept

    def to_representation(self, value):
        return value


class TaxExemptionSerializer(serializers.Serializer):
    """TMF666 AccountTaxExemption."""

    certificateNumber = serializers.CharField(max_length=80, required=False, allow_blank=True)
    issuingJurisdiction = serializers.CharField(max_length=120)
    reason = serializers.CharField(max_length=400, required=False, allow_blank=True)
    validFor = TimePeriodSerializer()


class PaymentPlanSerializer(serializers.Serializer):
    """TMF666 PaymentPlan."""

    numberOfPayments = serializers.IntegerField(min_value=1, max_value=1000, required=False)
    paymentFrequency = serializers.CharField(max_length=40, required=False, allow_blank=True)
    planType = serializers.CharField(max_length=40, required=False, allow_blank=True)
    priority = serializers.IntegerField(min_value=0, max_value=1000, required=False)
    status = serializers.CharField(max_length=40, required=False, allow_blank=True)
    paymentMethod = PaymentMethodRefSerializer(required=False)
    totalAmount = MoneySerializer(required=False)
    validFor = TimePeriodSerializer(required=False)


class AccountRefSerializer(RefSerializer):
    description = serializers.CharField(required=False, allow_blank=True)


class AccountRelationshipSerializer(serializers.Serializer):
    """TMF666 AccountRelationship."""

    relationshipType = serializers.CharField(max_length=40)
    account = AccountRefSerializer(required=False)
    validFor = TimePeriodSerializer()


class AccountSerializer(TMFSerializer):
    """Shared by partyAccount, settlementAccount and financialAccount (one table, `kind`).

    - `relatedParty`: the owner, an Individual or Organization (role "owner"); required for
      party and settlement accounts, optional for a financial account.
    - `state` opens active (not taken from POST) and moves active, suspended, closed by PATCH.
    - `creditLimit` sets the account's currency at creation; later its unit must match.
    - `financialAccount`: a ref to a financialAccount of ours.
    - `accountBalance` is the server's to compute: always [] today (balances are billing's).
    - `contact`, `taxExemption`, `paymentPlan` and `accountRelationship` are kept as sent,
      after their checks.
    """

    kind = ""

    description = serializers.CharField(required=False, allow_blank=True)
    accountType = serializers.CharField(
        source="account_type", max_length=40, required=False, allow_blank=True
    )
    state = serializers.ChoiceField(choices=AccountState.choices, required=False)
    lastModified = serializers.DateTimeField(source="last_update", read_only=True)
    creditLimit = MoneySerializer(required=False, allow_null=True, write_only=True)
    relatedParty = RelatedPartySerializer(many=True, required=False, write_only=True)
    contact = AccountContactSerializer(
        source="contacts", many=True, required=False, write_only=True
    )
    taxExemption = DocumentListField(
        TaxExemptionSerializer, source="tax_exemptions", required=False
    )
    accountRelationship = DocumentListField(
        AccountRelationshipSerializer, source="relationships", required=False
    )

    class Meta:
        model = Account
        fields = [
            "name",
            "description",
            "accountType",
            "state",
            "lastModified",
            "creditLimit",
            "relatedParty",
            "contact",
            "taxExemption",
            "accountRelationship",
        ]

    @property
    def tmf_type(self):
        return ACCOUNT_TYPES[self.kind]

    @property
    def url_name(self):
        return ACCOUNT_URL_NAMES[self.kind]

    def validate_relatedParty(self, parties):
        # Whether the account needs an owner is the service's rule (`crm.services.accounts`).
        return party_from_related_party(parties)

    def validate(self, attrs):
        if "relatedParty" in attrs:
            attrs["party"] = attrs.pop("relatedParty")
        if "creditLimit" in attrs:
            money = attrs.pop("creditLimit")
            if money is None:
                attrs["credit_limit"] = None
            elif self.instance is None:
                # A new account takes its currency from its credit limit.
                attrs["currency"] = money["unit"].upper()
                attrs["credit_limit"] = money["value"]
            else:
                attrs["credit_limit"] = services.credit_limit_in_account_currency(
                    credit_limit=money, currency=self.instance.currency
                )
        return attrs

    def to_representation(self, instance):
        body = super().to_representation(instance)
        body["creditLimit"] = self.money(instance.credit_limit, instance.currency)
        body["relatedParty"] = (
            [{**party_ref(self, instance.party), "role": "owner"}] if instance.party else []
        )
        body["accountBalance"] = []
        body["contact"] = [
            account_contact_representation(SimpleNamespace(**document))
            for document in instance.contacts
        ]
        return body


class OwnedAccountSerializer(AccountSerializer):
    """partyAccount and settlementAccount: a party's account, with a bill structure, a payment
    method, a payment status, payment plans and a financial account."""

    paymentStatus = serializers.CharField(
        source="payment_status", max_length=40, required=False, allow_blank=True
    )
    billStructure = BillStructureSerializer(required=False, write_only=True)
    defaultPaymentMethod = PaymentMethodRefSerializer(
        required=False, allow_null=True, write_only=True
    )
    financialAccount = RefSerializer(required=False, allow_null=True, write_only=True)
    paymentPlan = DocumentListField(PaymentPlanSerializer, source="payment_plans", required=False)

    class Meta(AccountSerializer.Meta):
        fields = [
            *AccountSerializer.Meta.fields,
            "paymentStatus",
            "billStructure",
            "defaultPaymentMethod",
            "financialAccount",
            "paymentPlan",
        ]

    def validate_financialAccount(self, ref):
        if ref is None:
            return None
        financial = row_with_id(Account.objects.filter(kind=AccountKind.FINANCIAL), ref["id"])
        if financial is None:
            raise serializers.ValidationError(
                {"id": f"Financial account '{ref['id']}' does not exist."}
            )
        return financial

    def validate(self, attrs):
        attrs = super().validate(attrs)
        structure = attrs.pop("billStructure", None)
        if structure is not None:
            attrs.update(structure)
        if "defaultPaymentMethod" in attrs:
            method = attrs.pop("defaultPaymentMethod")
            attrs["payment_method"] = method["id"] if method else ""
        if "financialAccount" in attrs:
            attrs["financial_account"] = attrs.pop("financialAccount")
        return attrs

    def to_representation(self, instance):
        body = super().to_representation(instance)
        body["billStructure"] = bill_structure_representation(self.request, instance)
        if instance.payment_method:
            body["defaultPaymentMethod"] = {
                "id": instance.payment_method,
                "name": instance.get_payment_method_display(),
                "@referredType": "PaymentMethod",
            }
        financial = instance.financial_account
        if financial is not None:
            body["financialAccount"] = self.ref(
                financial,
                ACCOUNT_URL_NAMES[AccountKind.FINANCIAL],
                "FinancialAccount",
                name=financial.name,
            )
        return body


class PartyAccountSerializer(OwnedAccountSerializer):
    """TMF666 PartyAccount."""

    kind = AccountKind.PARTY


class SettlementAccountSerializer(OwnedAccountSerializer):
    """TMF666 SettlementAccount."""

    kind = AccountKind.SETTLEMENT


class FinancialAccountSerializer(AccountSerializer):
    """TMF666 FinancialAccount: groups the balances of the accounts that name it."""

    kind = AccountKind.FINANCIAL

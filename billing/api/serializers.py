"""TMF635 usage, TMF678 bills and lines, and bill runs: representations and input parsing."""

from collections import defaultdict
from decimal import Decimal

from rest_framework import serializers

from billing.choices import PaymentMethodType
from billing.models import AppliedCharge, BillRun, CustomerBill, Payment, UsageEvent
from billing.services import UNIT_BYTES, parse_volume
from telco.api.serializers import (
    MoneySerializer,
    RefSerializer,
    TMFSerializer,
    href_for,
    reference,
)
from telco.money import as_tmf_money

TAX_CATEGORY = "VAT"
USAGE_CHARACTERISTICS = ("eventId", "serviceId", "volume", "unit", "ratingGroup")


def customer_party(request, account) -> list[dict]:
    customer = account.customer
    return [
        {
            **reference(request, customer, "crm-api:customer-detail", "Customer", customer.name),
            "role": "customer",
        }
    ]


def account_ref(request, account) -> dict:
    return reference(
        request, account, "crm-api:billingAccount-detail", "BillingAccount", account.name
    )


def product_ref(request, product) -> dict:
    return reference(request, product, "inventory-api:product-detail", "Product", product.name)


def period(start, end) -> dict:
    return {"startDateTime": start.isoformat(), "endDateTime": end.isoformat()}


class UsageCharacteristicInput(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.JSONField()


class UsageSpecificationInput(serializers.Serializer):
    id = serializers.CharField()


class UsageSerializer(TMFSerializer):
    """TMF635 Usage. Input: usageDate, usageType, usageSpecification, usageCharacteristic."""

    tmf_type = "Usage"
    url_name = "billing-api:usage-detail"

    usageDate = serializers.DateTimeField(source="usage_date")
    usageType = serializers.CharField(source="usage_type", required=False, max_length=20)
    usageSpecification = UsageSpecificationInput(write_only=True)
    usageCharacteristic = UsageCharacteristicInput(many=True, write_only=True)

    class Meta:
        model = UsageEvent
        fields = ["usageDate", "usageType", "usageSpecification", "usageCharacteristic"]

    def validate(self, attrs):
        given = {c["name"]: c["value"] for c in attrs.pop("usageCharacteristic")}
        errors = {}
        for name in USAGE_CHARACTERISTICS:
            value = given.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                errors[f"usageCharacteristic.{name}"] = ["This characteristic is required."]
        if "usageCharacteristic.volume" not in errors:
            try:
                attrs["volume"] = parse_volume(given["volume"])
            except ValueError as error:
                errors["usageCharacteristic.volume"] = [f"'{given['volume']}' {error}."]
        if "usageCharacteristic.unit" not in errors and given["unit"] not in UNIT_BYTES:
            errors["usageCharacteristic.unit"] = [
                f"'{given['unit']}' is not one of {', '.join(UNIT_BYTES)}."
            ]
        for name, limit in (("eventId", 80), ("ratingGroup", 60)):
            value = given.get(name)
            if f"usageCharacteristic.{name}" not in errors and len(str(value)) > limit:
                errors[f"usageCharacteristic.{name}"] = [f"At most {limit} characters."]
        if errors:
            raise serializers.ValidationError(errors)
        attrs.update(
            event_id=str(given["eventId"]),
            service_id=str(given["serviceId"]),
            unit=given["unit"],
            rating_group=str(given["ratingGroup"]),
            usage_specification_id=attrs.pop("usageSpecification")["id"],
        )
        return attrs

    def to_representation(self, instance):
        body = super().to_representation(instance)
        request = self.request
        characteristics = [
            ("eventId", instance.event_id),
            ("serviceId", str(instance.service_id)),
            ("volume", float(instance.volume)),
            ("unit", instance.unit),
            ("ratingGroup", instance.rating_group),
        ]
        charge = instance.applied_charge
        body.update(
            status=instance.status,
            usageSpecification={
                "id": instance.usage_specification_id,
                "@referredType": "UsageSpecification",
            },
            usageCharacteristic=[{"name": n, "value": v} for n, v in characteristics],
            relatedParty=customer_party(request, instance.billing_account),
            ratedProductUsage=[]
            if charge is None
            else [
                {
                    "isBilled": True,
                    "ratingDate": charge.bill.bill_date.isoformat(),
                    "usageRatingTag": instance.rating_group,
                    "taxRate": float(charge.tax_rate),
                    "productRef": product_ref(request, instance.product),
                    "@type": "RatedProductUsage",
                }
            ],
        )
        body["@type"] = self.tmf_type  # keep @type last, after the added attributes
        return body


def _tax_item(rate: Decimal, amount: Decimal, currency: str) -> dict:
    return {
        "taxCategory": TAX_CATEGORY,
        "taxRate": float(rate),
        "taxAmount": as_tmf_money(amount, currency),
    }


class CustomerBillSerializer(TMFSerializer):
    """TMF678 CustomerBill (read only: bills are immutable)."""

    tmf_type = "CustomerBill"
    url_name = "billing-api:customerBill-detail"

    class Meta:
        model = CustomerBill
        fields = []

    def to_representation(self, bill):
        body = super().to_representation(bill)
        request = self.request
        taxes = defaultdict(Decimal)
        for line in bill.lines.all():
            taxes[line.tax_rate] += line.tax_amount
        total = bill.tax_included_amount
        body.update(
            billNo=bill.bill_no,
            billDate=bill.bill_date.isoformat(),
            lastUpdate=bill.last_update.isoformat(),
            state=bill.state,
            category="normal",
            runType="onCycle",
            billingPeriod=period(bill.period_start, bill.period_end),
            paymentDueDate=bill.payment_due_date.isoformat(),
            amountDue=as_tmf_money(total, bill.currency),
            remainingAmount=as_tmf_money(bill.remaining_amount, bill.currency),
            taxExcludedAmount=as_tmf_money(bill.tax_excluded_amount, bill.currency),
            taxIncludedAmount=as_tmf_money(total, bill.currency),
            taxItem=[
                _tax_item(rate, amount, bill.currency) for rate, amount in sorted(taxes.items())
            ],
            billingAccount=account_ref(request, bill.billing_account),
            relatedParty=customer_party(request, bill.billing_account),
            appliedPayment=[
                {
                    "appliedAmount": as_tmf_money(allocation.amount, bill.currency),
                    "payment": reference(
                        request,
                        allocation.payment,
                        "billing-api:payment-detail",
                        "Payment",
                        f"Payment {allocation.payment_id}",
                    ),
                    "@type": "AppliedPayment",
                }
                for allocation in bill.allocations.all()
            ],
            billDocument=[],
        )
        body["@type"] = self.tmf_type
        return body


class AppliedCustomerBillingRateSerializer(TMFSerializer):
    """TMF678 AppliedCustomerBillingRate: one bill line."""

    tmf_type = "AppliedCustomerBillingRate"
    url_name = "billing-api:appliedCustomerBillingRate-detail"

    class Meta:
        model = AppliedCharge
        fields = []

    def to_representation(self, charge):
        body = super().to_representation(charge)
        request = self.request
        body.update(
            type=charge.charge_type,
            name=charge.name,
            description=charge.description,
            date=charge.date.isoformat(),
            isBilled=True,
            periodCoverage=period(charge.period_start, charge.period_end),
            bill={
                "id": str(charge.bill_id),
                "href": href_for(request, "billing-api:customerBill-detail", charge.bill_id),
                "@referredType": "CustomerBill",
            },
            product=product_ref(request, charge.product),
            billingAccount=account_ref(request, charge.billing_account),
            taxExcludedAmount=as_tmf_money(charge.tax_excluded_amount, charge.currency),
            taxIncludedAmount=as_tmf_money(charge.tax_included_amount, charge.currency),
            appliedTax=[_tax_item(charge.tax_rate, charge.tax_amount, charge.currency)],
            characteristic=[
                {"name": "quantity", "value": float(charge.quantity)},
                {"name": "unit", "value": charge.unit},
            ],
        )
        body["@type"] = self.tmf_type
        return body


class BillRunSerializer(serializers.ModelSerializer):
    """A bill run and its progress. Input: asOf (default today) and an optional billingAccount."""

    asOf = serializers.DateField(source="as_of", required=False)
    billingAccount = serializers.IntegerField(
        source="billing_account_id", required=False, allow_null=True
    )
    accountsTotal = serializers.IntegerField(source="accounts_total", read_only=True)
    accountsDone = serializers.IntegerField(source="accounts_done", read_only=True)
    billsCreated = serializers.IntegerField(source="bills_created", read_only=True)
    lastAccountId = serializers.IntegerField(source="last_account_id", read_only=True)
    startedAt = serializers.DateTimeField(source="started_at", read_only=True)
    finishedAt = serializers.DateTimeField(source="finished_at", read_only=True)

    class Meta:
        model = BillRun
        fields = [
            "id",
            "asOf",
            "billingAccount",
            "state",
            "accountsTotal",
            "accountsDone",
            "billsCreated",
            "lastAccountId",
            "error",
            "startedAt",
            "finishedAt",
        ]
        read_only_fields = ["id", "state", "error"]


class PaymentMethodInput(serializers.Serializer):
    """Payment methods are kinds, not stored instruments: the ref's id is the kind."""

    # A plain string checked here: a second choice set on a field named "id" would collide
    # with the account's payment method in the OpenAPI enum names.
    id = serializers.CharField(help_text=f"One of {', '.join(PaymentMethodType.values)}.")
    name = serializers.CharField(required=False, allow_blank=True)

    def validate_id(self, value):
        if value not in PaymentMethodType.values:
            raise serializers.ValidationError(
                f"'{value}' is not one of {', '.join(PaymentMethodType.values)}."
            )
        return value


class PaymentSerializer(TMFSerializer):
    """TMF676 Payment. Input: account.id, paymentMethod.id, totalAmount, optional correlatorId.

    `paymentItem` lists the bills the payment was allocated to (oldest first); the extension
    `unallocatedAmount` is what no bill took yet: account credit for the next bills.
    """

    tmf_type = "Payment"
    url_name = "billing-api:payment-detail"

    account = RefSerializer(write_only=True)
    paymentMethod = PaymentMethodInput(write_only=True)
    totalAmount = MoneySerializer(write_only=True)
    correlatorId = serializers.CharField(
        source="reference", required=False, allow_blank=True, max_length=80
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=300)
    authorizationCode = serializers.CharField(
        source="authorization_code", required=False, allow_blank=True, max_length=80
    )

    class Meta:
        model = Payment
        fields = [
            "account",
            "paymentMethod",
            "totalAmount",
            "correlatorId",
            "description",
            "authorizationCode",
        ]

    def validate(self, attrs):
        account_id = attrs.pop("account")["id"]
        if not str(account_id).isdigit():
            raise serializers.ValidationError(
                {"account.id": [f"Billing account '{account_id}' does not exist."]}
            )
        total = attrs.pop("totalAmount")
        attrs.update(
            billing_account_id=int(account_id),
            method=attrs.pop("paymentMethod")["id"],
            amount=total["value"],
            currency=total["unit"],
        )
        return attrs

    def to_representation(self, payment):
        body = super().to_representation(payment)
        request = self.request
        currency = payment.currency
        account = payment.billing_account
        body.update(
            name=f"Payment {payment.pk}",
            paymentDate=payment.payment_date.isoformat(),
            status=payment.state,
            statusDate=payment.state_date.isoformat(),
            account=account_ref(request, account),
            payer=customer_party(request, account)[0],
            paymentMethod={
                "id": payment.method,
                "name": payment.get_method_display(),
                "@referredType": "PaymentMethod",
            },
            amount=as_tmf_money(payment.amount, currency),
            totalAmount=as_tmf_money(payment.amount, currency),
            unallocatedAmount=as_tmf_money(payment.unallocated_amount, currency),
            paymentItem=[
                {
                    "id": str(allocation.pk),
                    "amount": as_tmf_money(allocation.amount, currency),
                    "totalAmount": as_tmf_money(allocation.amount, currency),
                    "item": reference(
                        request,
                        allocation.bill,
                        "billing-api:customerBill-detail",
                        "CustomerBill",
                        allocation.bill.bill_no,
                    ),
                    "@type": "PaymentItem",
                }
                for allocation in payment.allocations.all()
            ],
        )
        body["@type"] = self.tmf_type
        return body

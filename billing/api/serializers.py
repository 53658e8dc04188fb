"""TMF635 usage, TMF678 bills and lines, and bill runs: representations and input parsing."""

from collections import defaultdict
from decimal import Decimal

from rest_framework import serializers

from billing.api.invoices import bill_document
from billing.choices import CLIENT_SETTABLE_BILL_STATES, PaymentMethodType
from billing.models import (
    AppliedCharge,
    BillRun,
    BillRunFailure,
    CustomerBill,
    CustomerBillOnDemand,
    Payment,
    UsageEvent,
    UsageSpecification,
)
from billing.services import parse_volume
from telco.api.serializers import (
    MoneySerializer,
    RefSerializer,
    TMFSerializer,
    href_for,
    reference,
)
from telco.ids import parse_id
from telco.money import as_tmf_money

TAX_CATEGORY = "VAT"


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
    name = serializers.CharField(max_length=60)
    value = serializers.JSONField(required=False, allow_null=True)


class UsageSpecificationInput(serializers.Serializer):
    id = serializers.CharField(max_length=40)


# The characteristics ingest reads, the most characters each may have (a column's width), and
# the name of the service's argument.
USAGE_TEXT_CHARACTERISTICS = {
    "eventId": (80, "event_id"),
    "serviceId": (80, "service_id"),
    "unit": (10, "unit"),
    "ratingGroup": (60, "rating_group"),
    # The number called; `calledNumber` is the name some mediation systems give it.
    "destination": (40, "destination"),
    "calledNumber": (40, "destination"),
}


class UsageSerializer(TMFSerializer):
    """TMF635 Usage. Input, every attribute optional as in the spec: usageDate, usageType,
    usageSpecification {id}, usageCharacteristic (eventId, serviceId, volume, unit,
    ratingGroup, destination or calledNumber). A record lacking what rating needs is stored
    `rejected`, not refused: only values of the wrong type or out of range are a 400 (see
    `services.usage_ingest`)."""

    tmf_type = "Usage"
    url_name = "billing-api:usage-detail"

    usageDate = serializers.DateTimeField(source="usage_date", required=False, allow_null=True)
    usageType = serializers.CharField(source="usage_type", required=False, max_length=20)
    usageSpecification = UsageSpecificationInput(write_only=True, required=False)
    usageCharacteristic = UsageCharacteristicInput(many=True, write_only=True, required=False)

    class Meta:
        model = UsageEvent
        fields = ["usageDate", "usageType", "usageSpecification", "usageCharacteristic"]

    def validate(self, attrs):
        given = {c["name"]: c.get("value") for c in attrs.pop("usageCharacteristic", [])}
        errors = {}
        for name, (limit, argument) in USAGE_TEXT_CHARACTERISTICS.items():
            value = given.get(name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, str | int):
                errors[f"usageCharacteristic.{name}"] = ["Must be a string."]
            elif len(str(value)) > limit:
                errors[f"usageCharacteristic.{name}"] = [f"At most {limit} characters."]
            elif "\x00" in str(value):
                errors[f"usageCharacteristic.{name}"] = ["Null characters are not allowed."]
            else:
                attrs[argument] = str(value).strip()
        volume = given.get("volume")
        if volume is not None and volume != "":
            try:
                attrs["volume"] = parse_volume(volume)
            except ValueError as error:
                errors["usageCharacteristic.volume"] = [f"'{volume}' {error}."]
        if errors:
            raise serializers.ValidationError(errors)
        specification = attrs.pop("usageSpecification", None)
        if specification is not None:
            attrs["usage_specification_id"] = specification["id"]
        return attrs

    def to_representation(self, instance):
        body = super().to_representation(instance)
        request = self.request
        characteristics = [
            ("eventId", instance.event_id),
            ("serviceId", str(instance.service_id or instance.reported_service_id or "")),
            ("volume", None if instance.volume is None else float(instance.volume)),
            ("unit", instance.unit),
            ("ratingGroup", instance.rating_group),
            ("destination", instance.destination),
        ]
        if instance.rejection_reason:
            characteristics += [
                ("rejectionReason", instance.rejection_reason),
                ("rejectionMessage", instance.rejection_message),
            ]
        charge = instance.applied_charge
        specification = instance.usage_specification
        body.update(
            status=instance.status,
            usageCharacteristic=[
                {"name": n, "value": v} for n, v in characteristics if v not in (None, "")
            ],
            relatedParty=[]
            if instance.billing_account is None
            else customer_party(request, instance.billing_account),
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
        if specification is not None:
            body["usageSpecification"] = {
                **reference(
                    request,
                    specification,
                    "billing-api:usageSpecification-detail",
                    "UsageSpecification",
                    specification.name,
                ),
            }
        body["@type"] = self.tmf_type  # keep @type last, after the added attributes
        return body


class TimePeriodInput(serializers.Serializer):
    startDateTime = serializers.DateTimeField(required=False, allow_null=True)
    endDateTime = serializers.DateTimeField(required=False, allow_null=True)

    def validate(self, attrs):
        start, end = attrs.get("startDateTime"), attrs.get("endDateTime")
        if start and end and end <= start:
            raise serializers.ValidationError({"endDateTime": ["Must be after startDateTime."]})
        return attrs


class SpecCharacteristicInput(serializers.Serializer):
    name = serializers.CharField(max_length=60)
    valueType = serializers.CharField(max_length=30, required=False, allow_blank=True)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)


class UsageSpecificationSerializer(TMFSerializer):
    """TMF635 UsageSpecification. Every attribute is optional on create; the id is made from
    the name (`Data session` -> `data-session`) and never changes."""

    tmf_type = "UsageSpecification"
    url_name = "billing-api:usageSpecification-detail"

    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)
    version = serializers.CharField(max_length=20, required=False, allow_blank=True)
    lifecycleStatus = serializers.CharField(
        source="lifecycle_status", max_length=20, required=False
    )
    validFor = TimePeriodInput(write_only=True, required=False)
    specCharacteristic = SpecCharacteristicInput(many=True, write_only=True, required=False)

    class Meta:
        model = UsageSpecification
        fields = [
            "name",
            "description",
            "version",
            "lifecycleStatus",
            "validFor",
            "specCharacteristic",
        ]

    def validate(self, attrs):
        if "validFor" in attrs:
            valid_for = attrs.pop("validFor")
            attrs["valid_from"] = valid_for.get("startDateTime")
            attrs["valid_to"] = valid_for.get("endDateTime")
        if "specCharacteristic" in attrs:
            attrs["spec_characteristics"] = [dict(c) for c in attrs.pop("specCharacteristic")]
        return attrs

    def to_representation(self, specification):
        body = super().to_representation(specification)
        body.update(
            isBundle=False,
            lastUpdate=specification.last_update.isoformat(),
            validFor={
                "startDateTime": specification.valid_from and specification.valid_from.isoformat(),
                "endDateTime": specification.valid_to and specification.valid_to.isoformat(),
            },
            specCharacteristic=[
                {**characteristic, "@type": "CharacteristicSpecification"}
                for characteristic in specification.spec_characteristics
            ],
        )
        body["@type"] = self.tmf_type
        return body


def _tax_item(rate: Decimal, amount: Decimal, currency: str) -> dict:
    return {
        "taxCategory": TAX_CATEGORY,
        "taxRate": float(rate),
        "taxAmount": as_tmf_money(amount, currency),
    }


class CustomerBillSerializer(TMFSerializer):
    """TMF678 CustomerBill. Its amounts are immutable; PATCH moves only its `state`."""

    tmf_type = "CustomerBill"
    url_name = "billing-api:customerBill-detail"

    # A plain string the service checks: a choice field named "state" would collide with the
    # other state enums of the OpenAPI schema.
    state = serializers.CharField(
        write_only=True,
        required=False,
        max_length=20,
        help_text=f"One of {', '.join(CLIENT_SETTABLE_BILL_STATES)}.",
    )

    class Meta:
        model = CustomerBill
        fields = ["state"]

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
            billDocument=[bill_document(request, bill)],
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


class CustomerBillOnDemandSerializer(TMFSerializer):
    """TMF678 CustomerBillOnDemand. Input: billingAccount {id}, optional name and description;
    `state`, `customerBill` and the extension `stateReason` are the server's."""

    tmf_type = "CustomerBillOnDemand"
    url_name = "billing-api:customerBillOnDemand-detail"

    billingAccount = RefSerializer(write_only=True)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)

    class Meta:
        model = CustomerBillOnDemand
        fields = ["billingAccount", "name", "description"]

    def validate(self, attrs):
        attrs["billing_account_id"] = attrs.pop("billingAccount")["id"]
        return attrs

    def to_representation(self, request_row):
        body = super().to_representation(request_row)
        request = self.request
        account = request_row.billing_account
        bill = request_row.customer_bill
        body.update(
            state=request_row.state,
            stateReason=request_row.state_reason,
            lastUpdate=request_row.last_update.isoformat(),
            billingAccount=account_ref(request, account),
            relatedParty=customer_party(request, account)[0],
        )
        if bill is not None:
            body["customerBill"] = reference(
                request, bill, "billing-api:customerBill-detail", "CustomerBill", bill.bill_no
            )
        body["@type"] = self.tmf_type
        return body


class BillRunFailureSerializer(serializers.ModelSerializer):
    """An account the run could not bill, and why (resolvedAt: billed by a later resume)."""

    billingAccount = serializers.IntegerField(source="billing_account_id", read_only=True)
    accountNumber = serializers.CharField(source="billing_account.account_number", read_only=True)
    failedAt = serializers.DateTimeField(source="failed_at", read_only=True)
    resolvedAt = serializers.DateTimeField(source="resolved_at", read_only=True)

    class Meta:
        model = BillRunFailure
        fields = ["billingAccount", "accountNumber", "reason", "failedAt", "resolvedAt"]
        read_only_fields = ["reason"]


class BillRunSerializer(serializers.ModelSerializer):
    """A bill run and its progress. Input: asOf (default today) and an optional billingAccount.

    `failures` lists the accounts it could not bill; it went on with the others and ends
    `completedWithErrors` while any failure is open (`accountsFailed`).
    """

    asOf = serializers.DateField(source="as_of", required=False)
    billingAccount = serializers.IntegerField(
        source="billing_account_id", required=False, allow_null=True
    )
    accountsTotal = serializers.IntegerField(source="accounts_total", read_only=True)
    accountsDone = serializers.IntegerField(source="accounts_done", read_only=True)
    accountsFailed = serializers.IntegerField(source="accounts_failed", read_only=True)
    billsCreated = serializers.IntegerField(source="bills_created", read_only=True)
    lastAccountId = serializers.IntegerField(source="last_account_id", read_only=True)
    failures = BillRunFailureSerializer(many=True, read_only=True)
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
            "accountsFailed",
            "billsCreated",
            "lastAccountId",
            "error",
            "failures",
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
        if parse_id(account_id) is None:
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

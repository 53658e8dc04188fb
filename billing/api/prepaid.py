"""TMF654 Prepay Balance Management (bucket, topupBalance, adjustBalance, balanceActionHistory;
transfers, reservations and accumulated balances are in billing.api.balance_operations) and
the online charging sessions the network opens against those balances
(/api/v1/billing/chargingSession: initial, update, terminate, as Diameter Gy credit control)."""

from django.http import Http404
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from billing.models.prepaid import (
    AdjustBalance,
    BalanceAction,
    ChargingSession,
    PrepaidBucket,
    TopupBalance,
    UsageType,
)
from billing.services import charging, prepaid
from telco.api.serializers import NestedSerializer, RefSerializer, TMFSerializer, reference
from telco.api.views import TMFCreateMixin, TMFViewSet
from telco.ids import parse_id
from telco.roles import AGENT, FINANCE, NOC


def quantity(amount, units: str) -> dict:
    return {"amount": float(amount.normalize()) if amount else 0.0, "units": units}


def account_ref(request, account) -> dict:
    return reference(
        request, account, "crm-api:billingAccount-detail", "BillingAccount", account.name
    )


def product_refs(request, product) -> list[dict]:
    return [reference(request, product, "inventory-api:product-detail", "Product", product.name)]


def bucket_ref(request, bucket) -> dict:
    return {
        **reference(request, bucket, "billing-api:bucket-detail", "Bucket", bucket_name(bucket)),
    }


def bucket_name(bucket) -> str:
    return f"{bucket.get_usage_type_display()} of {bucket.product.name}"


def valid_for(start, end) -> dict:
    period = {"startDateTime": start.isoformat()}
    if end is not None:
        period["endDateTime"] = end.isoformat()
    return period


class BucketSerializer(TMFSerializer):
    """TMF654 Bucket: a balance of money or units of one product."""

    tmf_type = "Bucket"
    url_name = "billing-api:bucket-detail"

    class Meta:
        model = PrepaidBucket
        fields = []

    def to_representation(self, bucket):
        body = super().to_representation(bucket)
        request = self.request
        body.update(
            name=bucket_name(bucket),
            description="",
            isShared=False,
            usageType=bucket.usage_type,
            status=bucket.status,
            remainingValue=quantity(bucket.remaining, bucket.units),
            reservedValue=quantity(bucket.reserved, bucket.units),
            remainingValueName=f"{bucket.remaining.normalize():f} {bucket.units}",
            validFor=valid_for(bucket.valid_from, bucket.valid_to),
            requestedDate=bucket.created_at.isoformat(),
            confirmationDate=bucket.created_at.isoformat(),
            product=product_refs(request, bucket.product),
            partyAccount=account_ref(request, bucket.billing_account),
            relatedParty=[
                {
                    **reference(
                        request,
                        bucket.product.customer,
                        "crm-api:customer-detail",
                        "Customer",
                        bucket.product.customer.name,
                    ),
                    "role": "customer",
                }
            ],
            logicalResource=[],
        )
        body["@type"] = self.tmf_type
        return body


class QuantityInput(NestedSerializer):
    amount = serializers.DecimalField(max_digits=18, decimal_places=4, min_value=0)
    units = serializers.CharField(required=False, allow_blank=True, max_length=10)


class TopupBalanceSerializer(TMFSerializer):
    """TMF654 TopupBalance. Input: bucket.id, partyAccount.id, usageType (monetary), and a
    `voucher` code or a `paymentMethod.id` (cash, card, ...) with `amount`."""

    tmf_type = "TopupBalance"
    url_name = "billing-api:topupBalance-detail"

    bucket = RefSerializer(write_only=True)
    partyAccount = RefSerializer(write_only=True, required=False)
    amount = QuantityInput(write_only=True, required=False)
    usageType = serializers.ChoiceField(
        choices=[UsageType.MONETARY], write_only=True, required=False
    )
    voucher = serializers.CharField(write_only=True, required=False, max_length=32)
    paymentMethod = RefSerializer(write_only=True, required=False)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200)
    channel = serializers.DictField(write_only=True, required=False)

    class Meta:
        model = TopupBalance
        fields = [
            "bucket",
            "partyAccount",
            "amount",
            "usageType",
            "voucher",
            "paymentMethod",
            "reason",
            "channel",
        ]

    def validate(self, attrs):
        bucket_id = attrs.pop("bucket")["id"]
        if parse_id(bucket_id) is None:
            raise serializers.ValidationError(
                {"bucket.id": [f"Bucket '{bucket_id}' does not exist."]}
            )
        amount = attrs.pop("amount", None)
        account = attrs.pop("partyAccount", None)
        method = attrs.pop("paymentMethod", None)
        channel = attrs.pop("channel", None) or {}
        attrs.pop("usageType", None)
        return {
            "bucket_id": int(bucket_id),
            "account_id": account["id"] if account else None,
            "amount": amount["amount"] if amount else None,
            "units": (amount or {}).get("units", ""),
            "voucher": attrs.get("voucher", ""),
            "payment_method": method["id"] if method else "",
            "reason": attrs.get("reason", ""),
            "channel": str(channel.get("name") or channel.get("id") or "")[:40],
        }

    def to_representation(self, topup):
        body = super().to_representation(topup)
        request = self.request
        bucket = topup.bucket
        body.update(
            amount=quantity(topup.amount, bucket.units),
            usageType=bucket.usage_type,
            bucket=bucket_ref(request, bucket),
            partyAccount=account_ref(request, bucket.billing_account),
            product=product_refs(request, bucket.product),
            status=topup.status,
            reason=topup.reason,
            description="",
            isAutoTopup=False,
            requestedDate=topup.requested_date.isoformat(),
            confirmationDate=(
                topup.confirmation_date.isoformat() if topup.confirmation_date else None
            ),
            # Only the end of a voucher's code: the code is money to whoever reads it.
            voucher=f"****{topup.voucher.code[-4:]}" if topup.voucher_id else None,
            paymentMethod=(
                {
                    "id": topup.payment.method,
                    "name": topup.payment.get_method_display(),
                    "@referredType": "PaymentMethod",
                }
                if topup.payment_id
                else None
            ),
            payment=(
                reference(
                    request,
                    topup.payment,
                    "billing-api:payment-detail",
                    "Payment",
                    f"Payment {topup.payment_id}",
                )
                if topup.payment_id
                else None
            ),
            channel={"name": topup.channel} if topup.channel else None,
            logicalResource=[],
            relatedParty=[],
        )
        body["@type"] = self.tmf_type
        return body


class SignedQuantityInput(NestedSerializer):
    amount = serializers.DecimalField(max_digits=18, decimal_places=4)
    units = serializers.CharField(required=False, allow_blank=True, max_length=10)


class AdjustBalanceSerializer(TMFSerializer):
    """TMF654 AdjustBalance. Input: bucket.id, usageType (the bucket's), amount (positive
    credits the bucket, negative debits it), reason; optional partyAccount.id, description,
    channel. Refunded and reversed top-up payments show here too, with `payment`."""

    tmf_type = "AdjustBalance"
    url_name = "billing-api:adjustBalance-detail"

    bucket = RefSerializer(write_only=True)
    partyAccount = RefSerializer(write_only=True, required=False)
    amount = SignedQuantityInput(write_only=True)
    usageType = serializers.ChoiceField(choices=UsageType.choices, write_only=True)
    reason = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=300)
    channel = serializers.DictField(write_only=True, required=False)

    class Meta:
        model = AdjustBalance
        fields = [
            "bucket",
            "partyAccount",
            "amount",
            "usageType",
            "reason",
            "description",
            "channel",
        ]

    def validate(self, attrs):
        bucket_id = parse_id(attrs["bucket"]["id"])
        if bucket_id is None:
            raise serializers.ValidationError(
                {"bucket.id": [f"Bucket '{attrs['bucket']['id']}' does not exist."]}
            )
        bucket = PrepaidBucket.objects.filter(pk=bucket_id).only("usage_type").first()
        if bucket is not None and bucket.usage_type != attrs["usageType"]:
            raise serializers.ValidationError(
                {"usageType": [f"Bucket {bucket_id} holds {bucket.usage_type}."]}
            )
        account = attrs.get("partyAccount")
        channel = attrs.get("channel") or {}
        return {
            "bucket_id": bucket_id,
            "account_id": account["id"] if account else None,
            "amount": attrs["amount"]["amount"],
            "units": attrs["amount"].get("units", ""),
            "reason": attrs["reason"],
            "description": attrs.get("description", ""),
            "channel": str(channel.get("name") or channel.get("id") or "")[:40],
        }

    def to_representation(self, adjustment):
        body = super().to_representation(adjustment)
        request = self.request
        bucket = adjustment.bucket
        body.update(
            amount=signed_quantity(adjustment.amount, bucket.units),
            unrecoveredAmount=quantity(adjustment.unrecovered, bucket.units),
            adjustType="OneTimeCharge",
            usageType=bucket.usage_type,
            bucket=bucket_ref(request, bucket),
            partyAccount=account_ref(request, bucket.billing_account),
            product=product_refs(request, bucket.product),
            status=adjustment.status,
            reason=adjustment.reason,
            description=adjustment.description,
            requestedDate=adjustment.requested_date.isoformat(),
            confirmationDate=(
                adjustment.confirmation_date.isoformat() if adjustment.confirmation_date else None
            ),
            payment=(
                reference(
                    request,
                    adjustment.payment,
                    "billing-api:payment-detail",
                    "Payment",
                    f"Payment {adjustment.payment_id}",
                )
                if adjustment.payment_id
                else None
            ),
            channel={"name": adjustment.channel} if adjustment.channel else None,
            requestor={"role": "operator", "name": adjustment.created_by}
            if adjustment.created_by
            else None,
            logicalResource=[],
            relatedParty=[],
        )
        body["@type"] = self.tmf_type
        return body


def signed_quantity(amount, units: str) -> dict:
    return {"amount": float(amount.normalize()), "units": units}


def entry_description(entry) -> str:
    """What moved the balance: a session, an adjustment, a transfer or a reservation."""
    if entry.session_id:
        return f"{entry.kind} for charging session {entry.session.session_id}"
    if entry.adjustment_id:
        return f"{entry.kind}: {entry.adjustment.reason}"
    if entry.transfer_id:
        return f"{entry.kind}: transfer {entry.transfer_id}"
    if entry.reservation_id:
        return f"{entry.kind}: reservation {entry.reservation_id}"
    return entry.kind


class BalanceActionHistorySerializer(TMFSerializer):
    """TMF654 BalanceActionHistory: one ledger row (topup, reserve, commit, release, expire,
    credit, debit, renew, transferOut, transferIn)."""

    tmf_type = "BalanceActionHistory"
    url_name = "billing-api:balanceActionHistory-detail"

    class Meta:
        model = BalanceAction
        fields = []

    def to_representation(self, entry):
        body = super().to_representation(entry)
        request = self.request
        bucket = entry.bucket
        body.update(
            reason=entry.kind,
            description=entry_description(entry),
            amount=quantity(entry.amount, bucket.units),
            usageType=bucket.usage_type,
            bucket=bucket_ref(request, bucket),
            partyAccount=account_ref(request, bucket.billing_account),
            product=product_refs(request, bucket.product),
            status="completed",
            requestedDate=entry.created_at.isoformat(),
            confirmationDate=entry.created_at.isoformat(),
            receiverLogicalResource=None,
            logicalResource=[],
            relatedParty=[],
        )
        body["@type"] = self.tmf_type
        return body


class BucketViewSet(TMFViewSet):
    serializer_class = BucketSerializer
    read_roles = (AGENT, NOC, FINANCE)
    filter_attributes = {
        "usageType": "usage_type",
        "status": "status",
        "product.id": "product_id",
        "partyAccount.id": "billing_account_id",
        "relatedParty.id": "product__customer_id",
    }

    def get_queryset(self):
        return PrepaidBucket.objects.select_related(
            "product__customer", "billing_account"
        ).order_by("pk")


class BalanceOperationViewSet(TMFCreateMixin, TMFViewSet):
    """A TMF654 balance operation (top-up, adjustment): finance (and admins) make them, agents
    read them; filtered alike. `operate` is the service that makes one."""

    read_roles = (AGENT, FINANCE)
    write_roles = (FINANCE,)
    filter_attributes = {
        "status": "status",
        "bucket.id": "bucket_id",
        "partyAccount.id": "bucket__billing_account_id",
        "requestedDate": "requested_date",
    }
    model = None
    related = ()

    def get_queryset(self):
        return self.model.objects.select_related(
            "bucket__product", "bucket__billing_account", *self.related
        ).order_by("-pk")

    def perform_tmf_create(self, serializer):
        return self.operate(**serializer.validated_data, by=self.request.user.get_username())


class TopupBalanceViewSet(BalanceOperationViewSet):
    serializer_class = TopupBalanceSerializer
    model = TopupBalance
    related = ("voucher", "payment")
    operate = staticmethod(prepaid.topup_balance_create)


class AdjustBalanceViewSet(BalanceOperationViewSet):
    serializer_class = AdjustBalanceSerializer
    model = AdjustBalance
    related = ("payment",)
    operate = staticmethod(prepaid.balance_adjust)


class BalanceActionHistoryViewSet(TMFViewSet):
    serializer_class = BalanceActionHistorySerializer
    read_roles = (AGENT, FINANCE)
    filter_attributes = {
        "reason": "kind",
        "bucket.id": "bucket_id",
        "partyAccount.id": "bucket__billing_account_id",
        "requestedDate": "created_at",
    }

    def get_queryset(self):
        return BalanceAction.objects.select_related(
            "bucket__product", "bucket__billing_account", "session", "adjustment"
        ).order_by("-pk")


class CreditControlInput(serializers.Serializer):
    sessionId = serializers.CharField(max_length=200)
    product = RefSerializer()
    usageType = serializers.ChoiceField(choices=charging.SERVICE_USAGE_TYPES)
    requestedUnits = serializers.DecimalField(
        max_digits=18, decimal_places=4, min_value=0, required=False
    )


class CreditControlUpdateInput(serializers.Serializer):
    usedUnits = serializers.DecimalField(
        max_digits=18, decimal_places=4, min_value=0, required=False
    )
    requestedUnits = serializers.DecimalField(
        max_digits=18, decimal_places=4, min_value=0, required=False
    )


class ChargingSessionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChargingSession
        fields = []

    def to_representation(self, session):
        price = session.unit_price
        return {
            "id": session.session_id,
            "state": session.state,
            "usageType": session.usage_type,
            "product": {"id": str(session.product_id), "@referredType": "Product"},
            "bucket": {"id": str(session.bucket_id), "@referredType": "Bucket"},
            "reservedUnits": float(charging.to_units(session.reserved, price)),
            "usedUnits": float(charging.to_units(session.used, price)),
            "requestNumber": session.request_number,
            "createdAt": session.created_at.isoformat(),
            "lastSeenAt": session.last_seen_at.isoformat(),
        }


def grant_body(grant: charging.Grant) -> dict:
    return {
        "sessionId": grant.session_id,
        "resultCode": grant.result_code,
        "resultCodeName": grant.result_name,
        "grantedUnits": float(grant.granted_units),
        "units": grant.units,
        "usageType": grant.usage_type,
    }


class ChargingSessionViewSet(TMFViewSet):
    """Credit control: POST opens a session (initial), `/{sessionId}/update` reports use and
    asks for more, `/{sessionId}/terminate` ends it. The answer carries `resultCode` 2001 with
    `grantedUnits`, or 4012 (credit limit reached, nothing granted)."""

    serializer_class = ChargingSessionSerializer
    read_roles = (AGENT, NOC, FINANCE)
    write_roles = (NOC,)
    throttle_scope = "ingest"
    lookup_field = "session_id"
    filter_attributes = {"state": "state", "product.id": "product_id", "usageType": "usage_type"}

    def get_queryset(self):
        return ChargingSession.objects.order_by("-pk")

    def get_object(self):
        if "\x00" in str(self.kwargs.get(self.lookup_field, "")):
            raise Http404
        return GenericAPIView.get_object(self)

    def create(self, request, *args, **kwargs):
        data = CreditControlInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        product_id = parse_id(values["product"]["id"])
        if product_id is None:
            raise serializers.ValidationError({"product.id": ["Unknown product."]})
        grant = charging.credit_control_initial(
            session_id=values["sessionId"],
            product_id=product_id,
            usage_type=values["usageType"],
            requested_units=values.get("requestedUnits"),
        )
        answer = status.HTTP_201_CREATED if grant.result_code == charging.SUCCESS else 200
        return Response(grant_body(grant), status=answer)

    @action(detail=True, methods=["post"], url_path="update")
    def update_session(self, request, session_id=None):
        data = CreditControlUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        grant = charging.credit_control_update(
            session_id=session_id,
            used_units=data.validated_data.get("usedUnits"),
            requested_units=data.validated_data.get("requestedUnits"),
        )
        return Response(grant_body(grant))

    @action(detail=True, methods=["post"], url_path="terminate")
    def terminate(self, request, session_id=None):
        data = CreditControlUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        grant = charging.credit_control_terminate(
            session_id=session_id, used_units=data.validated_data.get("usedUnits")
        )
        return Response(grant_body(grant))

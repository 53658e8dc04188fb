"""TMF654 transferBalance, reserveBalance and accumulatedBalance (the other TMF654 resources are
in billing.api.prepaid).

Transfers and reservations are records of balance movements, on the ledger: no DELETE (405).
A transfer is done once made (PATCH changes its `description`); a reservation is used or
released by PATCH `status` (`completed` or `cancelled`), once.
"""

from collections import defaultdict

from rest_framework import serializers

from billing.api.prepaid import (
    BalanceOperationViewSet,
    SignedQuantityInput,
    account_ref,
    bucket_ref,
    product_refs,
    quantity,
    valid_for,
)
from billing.models.balance_operations import AccumulatedBalance, ReserveBalance, TransferBalance
from billing.models.prepaid import BucketStatus, PrepaidBucket, TopupState, UsageType
from billing.services import balance_operations
from telco.api.serializers import RefSerializer, TMFSerializer, reference
from telco.api.views import TMFPatchMixin, TMFViewSet
from telco.ids import parse_id
from telco.roles import AGENT, FINANCE, NOC


def _bucket_or_product(attrs: dict, bucket_key: str, product_key: str) -> tuple:
    """(bucket id, product id) from a bucket ref or a product ref (a list of one, or one);
    a malformed id is a 400 naming it."""
    bucket = attrs.get(bucket_key)
    if bucket is not None:
        bucket_id = parse_id(bucket["id"])
        if bucket_id is None:
            raise serializers.ValidationError(
                {f"{bucket_key}.id": [f"Bucket '{bucket['id']}' does not exist."]}
            )
        return bucket_id, None
    product = attrs.get(product_key)
    if isinstance(product, list):
        product = product[0] if product else None
    if product is None:
        raise serializers.ValidationError(
            {f"{bucket_key}.id": [f"Name the {bucket_key} (or the {product_key})."]}
        )
    product_id = parse_id(product["id"])
    if product_id is None:
        raise serializers.ValidationError(
            {f"{product_key}.id": [f"Product '{product['id']}' does not exist."]}
        )
    return None, product_id


def _common_input(attrs: dict) -> dict:
    account = attrs.get("partyAccount")
    channel = attrs.get("channel") or {}
    return {
        "amount": attrs["amount"]["amount"],
        "units": attrs["amount"].get("units", ""),
        "usage_type": attrs["usageType"],
        "account_id": account["id"] if account else None,
        "reason": attrs.get("reason", ""),
        "description": attrs.get("description", ""),
        "channel": str(channel.get("name") or channel.get("id") or "")[:40],
    }


def _operation_body(request, operation) -> dict:
    """What every balance operation answers besides its own attributes."""
    bucket = operation.bucket
    return {
        "amount": quantity(operation.amount, bucket.units),
        "usageType": bucket.usage_type,
        "bucket": bucket_ref(request, bucket),
        "partyAccount": account_ref(request, bucket.billing_account),
        "product": product_refs(request, bucket.product),
        "status": operation.status,
        "reason": operation.reason,
        "description": operation.description,
        "requestedDate": operation.requested_date.isoformat(),
        "confirmationDate": (
            operation.confirmation_date.isoformat() if operation.confirmation_date else None
        ),
        "channel": {"name": operation.channel} if operation.channel else None,
        "requestor": (
            {"role": "operator", "name": operation.created_by} if operation.created_by else None
        ),
        "logicalResource": [],
        "relatedParty": [],
    }


class TransferBalanceSerializer(TMFSerializer):
    """TMF654 TransferBalance. Input: `bucket.id` (or `product: [{"id"}]` with its bucket of
    `usageType`), `receiverBucket.id` (or `receiverProduct.id`, with its bucket of
    `receiverBucketUsageType`, by default `usageType`), `amount` {amount, units}, `usageType`;
    optional `partyAccount.id` (the giver's), `reason`, `description`, `channel`."""

    tmf_type = "TransferBalance"
    url_name = "billing-api:transferBalance-detail"

    bucket = RefSerializer(write_only=True, required=False)
    product = serializers.ListField(child=RefSerializer(), write_only=True, required=False)
    receiverBucket = RefSerializer(write_only=True, required=False)
    receiverProduct = RefSerializer(write_only=True, required=False)
    partyAccount = RefSerializer(write_only=True, required=False)
    amount = SignedQuantityInput(write_only=True)
    usageType = serializers.ChoiceField(choices=UsageType.choices, write_only=True)
    receiverBucketUsageType = serializers.ChoiceField(
        choices=UsageType.choices, write_only=True, required=False
    )
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=300)
    channel = serializers.DictField(write_only=True, required=False)

    class Meta:
        model = TransferBalance
        fields = [
            "bucket",
            "product",
            "receiverBucket",
            "receiverProduct",
            "partyAccount",
            "amount",
            "usageType",
            "receiverBucketUsageType",
            "reason",
            "description",
            "channel",
        ]

    def validate(self, attrs):
        if self.partial:  # PATCH: the description only (the view refuses the rest)
            return {"description": attrs.get("description", "")}
        bucket_id, product_id = _bucket_or_product(attrs, "bucket", "product")
        receiver_id, receiver_product_id = _bucket_or_product(
            attrs, "receiverBucket", "receiverProduct"
        )
        return {
            **_common_input(attrs),
            "bucket_id": bucket_id,
            "product_id": product_id,
            "receiver_bucket_id": receiver_id,
            "receiver_product_id": receiver_product_id,
            "receiver_usage_type": attrs.get("receiverBucketUsageType", ""),
        }

    def to_representation(self, transfer):
        body = super().to_representation(transfer)
        request = self.request
        receiver = transfer.receiver_bucket
        body.update(
            _operation_body(request, transfer),
            receiverBucket=bucket_ref(request, receiver),
            receiverBucketUsageType=receiver.usage_type,
            receiverProduct=product_refs(request, receiver.product)[0],
            receiver={
                **reference(
                    request,
                    receiver.product.customer,
                    "crm-api:customer-detail",
                    "Customer",
                    receiver.product.customer.name,
                ),
                "role": "customer",
            },
            receiverLogicalResource=None,
            costOwner="originator",
        )
        body["@type"] = self.tmf_type
        return body


RESERVATION_STATES = (TopupState.CREATED, TopupState.COMPLETED, TopupState.CANCELLED)


class ValidForInput(serializers.Serializer):
    startDateTime = serializers.DateTimeField(required=False)
    endDateTime = serializers.DateTimeField(required=False)


class ReserveBalanceSerializer(TMFSerializer):
    """TMF654 ReserveBalance. Input: `bucket.id` (or `product: [{"id"}]` with its bucket of
    `usageType`), `amount` {amount, units}, `usageType`; optional `partyAccount.id`,
    `validFor.endDateTime` (by default the bucket's validity), `reason`, `description`,
    `channel`. PATCH: `status` (`completed` uses it, `cancelled` releases it), `reason`,
    `description`."""

    tmf_type = "ReserveBalance"
    url_name = "billing-api:reserveBalance-detail"

    bucket = RefSerializer(write_only=True, required=False)
    product = serializers.ListField(child=RefSerializer(), write_only=True, required=False)
    partyAccount = RefSerializer(write_only=True, required=False)
    amount = SignedQuantityInput(write_only=True)
    usageType = serializers.ChoiceField(choices=UsageType.choices, write_only=True)
    validFor = ValidForInput(write_only=True, required=False)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=300)
    channel = serializers.DictField(write_only=True, required=False)
    # Read on PATCH only (a POST's is ignored: a reservation starts `created`).
    status = serializers.CharField(write_only=True, required=False)

    class Meta:
        model = ReserveBalance
        fields = [
            "bucket",
            "product",
            "partyAccount",
            "amount",
            "usageType",
            "validFor",
            "reason",
            "description",
            "channel",
            "status",
        ]

    def validate(self, attrs):
        if self.partial:
            if attrs.get("status", TopupState.CREATED) not in RESERVATION_STATES:
                raise serializers.ValidationError(
                    {"status": [f"A reservation is {', '.join(RESERVATION_STATES)}."]}
                )
            return {
                name: attrs[name] for name in ("status", "reason", "description") if name in attrs
            }
        attrs.pop("status", None)
        bucket_id, product_id = _bucket_or_product(attrs, "bucket", "product")
        return {
            **_common_input(attrs),
            "bucket_id": bucket_id,
            "product_id": product_id,
            "valid_to": (attrs.get("validFor") or {}).get("endDateTime"),
        }

    def to_representation(self, reservation):
        body = super().to_representation(reservation)
        body.update(
            _operation_body(self.request, reservation),
            validFor=valid_for(reservation.requested_date, reservation.valid_to),
            statusChangeDate=(reservation.closed_at.isoformat() if reservation.closed_at else None),
            statusChangeReason=reservation.close_reason,
        )
        body["@type"] = self.tmf_type
        return body


class TransferBalanceViewSet(TMFPatchMixin, BalanceOperationViewSet):
    serializer_class = TransferBalanceSerializer
    model = TransferBalance
    related = ("receiver_bucket__product__customer",)
    operate = staticmethod(balance_operations.balance_transfer)
    patchable_fields = ("description",)
    filter_attributes = {
        **BalanceOperationViewSet.filter_attributes,
        "usageType": "bucket__usage_type",
        "receiverBucket.id": "receiver_bucket_id",
        "product.id": "bucket__product_id",
        "receiverProduct.id": "receiver_bucket__product_id",
    }

    def perform_tmf_patch(self, instance, serializer):
        return balance_operations.transfer_balance_describe(
            transfer_id=instance.pk, **serializer.validated_data
        )


class ReserveBalanceViewSet(TMFPatchMixin, BalanceOperationViewSet):
    serializer_class = ReserveBalanceSerializer
    model = ReserveBalance
    operate = staticmethod(balance_operations.balance_reserve)
    patchable_fields = ("status", "reason", "description")
    filter_attributes = {
        **BalanceOperationViewSet.filter_attributes,
        "usageType": "bucket__usage_type",
        "product.id": "bucket__product_id",
    }

    def perform_tmf_patch(self, instance, serializer):
        return balance_operations.reserve_balance_update(
            reservation_id=instance.pk,
            **serializer.validated_data,
            by=self.request.user.get_username(),
        )


class AccumulatedBalanceSerializer(TMFSerializer):
    """TMF654 AccumulatedBalance: what an account holds of one unit, its active buckets
    summed (`totalBalance`; `reservedBalance` is held by reservations and sessions)."""

    tmf_type = "AccumulatedBalance"
    url_name = "billing-api:accumulatedBalance-detail"

    class Meta:
        model = AccumulatedBalance
        fields = []

    def to_representation(self, balance):
        body = super().to_representation(balance)
        request = self.request
        account = balance.billing_account
        buckets = getattr(balance, "buckets", [])
        products = {bucket.product_id: bucket.product for bucket in buckets}
        body.update(
            name=f"{balance.get_usage_type_display()} of {account.name}",
            description=f"Active {balance.units} buckets of account {account.pk}",
            usageType=balance.usage_type,
            totalBalance=quantity(balance.remaining, balance.units),
            reservedBalance=quantity(balance.reserved, balance.units),
            bucket=[bucket_ref(request, bucket) for bucket in buckets],
            product=[product_refs(request, product)[0] for product in products.values()],
            partyAccount=account_ref(request, account),
            relatedParty=[
                {
                    **reference(
                        request,
                        account.customer,
                        "crm-api:customer-detail",
                        "Customer",
                        account.customer.name,
                    ),
                    "role": "customer",
                }
            ],
            logicalResource=None,
            lastUpdate=balance.last_update.isoformat(),
        )
        body["@type"] = self.tmf_type
        return body


def with_buckets(balances: list[AccumulatedBalance]) -> list[AccumulatedBalance]:
    """Each balance with its active buckets (`buckets`), read in one query for all of them."""
    if not balances:
        return balances
    found = defaultdict(list)
    for bucket in PrepaidBucket.objects.filter(
        billing_account_id__in={balance.billing_account_id for balance in balances},
        units__in={balance.units for balance in balances},
        status=BucketStatus.ACTIVE,
    ).select_related("product"):
        found[(bucket.billing_account_id, bucket.units)].append(bucket)
    for balance in balances:
        balance.buckets = found[(balance.billing_account_id, balance.units)]
    return balances


class AccumulatedBalanceViewSet(TMFViewSet):
    serializer_class = AccumulatedBalanceSerializer
    read_roles = (AGENT, NOC, FINANCE)
    filter_attributes = {
        "partyAccount.id": "billing_account_id",
        "relatedParty.id": "billing_account__customer_id",
        "usageType": "usage_type",
    }

    def get_queryset(self):
        return AccumulatedBalance.objects.select_related("billing_account__customer")

    def paginate_queryset(self, queryset):
        return with_buckets(super().paginate_queryset(queryset))

    def get_object(self):
        return with_buckets([super().get_object()])[0]

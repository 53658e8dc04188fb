"""OpenAPI descriptions of the TMF678 bill answers, which the serializers build by hand.

Each serializer here only describes an answer (the views name it in `extend_schema`); it mirrors
the keys of the matching `to_representation` in `billing.api.serializers`. `id`, `href` and
`@type` are added to every TMF representation by `telco.api.schema.describe_fields_selection`.
"""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from telco.api.schema import (
    CHARACTERISTIC,
    DATE_TIME,
    ENTITY_REF,
    MONEY,
    REF,
    RELATED_PARTY,
    STRING,
    array,
    described,
    obj,
    read_only_text,
    read_only_time,
)

TIME_PERIOD = obj({"startDateTime": DATE_TIME, "endDateTime": DATE_TIME})
TAX_ITEM = obj({"taxCategory": STRING, "taxRate": {"type": "number"}, "taxAmount": MONEY})
APPLIED_PAYMENT = obj({"appliedAmount": MONEY, "payment": ENTITY_REF, "@type": STRING})
# TMF678 AttachmentRefOrValue, by reference: the bill's PDF invoice.
BILL_DOCUMENT = obj(
    {
        "id": STRING,
        "href": STRING,
        "url": STRING,
        "name": STRING,
        "description": STRING,
        "attachmentType": STRING,
        "mimeType": STRING,
        "@type": STRING,
        "@referredType": STRING,
    },
    required=["id", "href", "mimeType"],
)


@extend_schema_serializer(component_name="CustomerBill")
class CustomerBillAnswer(serializers.Serializer):
    """TMF678 CustomerBill. Its amounts are immutable; PATCH moves only its `state`."""

    billNo = read_only_text()
    billDate = read_only_time()
    lastUpdate = read_only_time()
    state = read_only_text()
    category = read_only_text()
    runType = read_only_text()
    billingPeriod = described(TIME_PERIOD)
    paymentDueDate = read_only_time()
    amountDue = described(MONEY)
    remainingAmount = described(MONEY)
    taxExcludedAmount = described(MONEY)
    taxIncludedAmount = described(MONEY)
    taxItem = described(array(TAX_ITEM))
    billingAccount = described(ENTITY_REF)
    relatedParty = described(array(RELATED_PARTY))
    appliedPayment = described(array(APPLIED_PAYMENT))
    billDocument = described(array(BILL_DOCUMENT))


@extend_schema_serializer(component_name="AppliedCustomerBillingRate")
class AppliedCustomerBillingRateAnswer(serializers.Serializer):
    """TMF678 AppliedCustomerBillingRate: one bill line."""

    type = read_only_text()
    name = read_only_text()
    description = read_only_text()
    date = read_only_time()
    isBilled = serializers.BooleanField(read_only=True)
    periodCoverage = described(TIME_PERIOD)
    bill = described(REF)
    product = described(ENTITY_REF)
    billingAccount = described(ENTITY_REF)
    taxExcludedAmount = described(MONEY)
    taxIncludedAmount = described(MONEY)
    appliedTax = described(array(TAX_ITEM))
    characteristic = described(array(CHARACTERISTIC))

"""OpenAPI descriptions of the TMF678 bill answers, which the serializers build by hand.

Each serializer here only describes an answer (the views name it in `extend_schema`); it mirrors
the keys of the matching `to_representation` in `billing.api.serializers`. `id`, `href` and
`@type` are added to every TMF representation by `telco.api.schema.describe_fields_selection`.
"""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from telco.api.schema import (
    ANY,
    CHARACTERISTIC,
    DATE_TIME,
    ENTITY_REF,
    MONEY,
    RELATED_PARTY,
    STRING,
    array,
    described,
    obj,
)

TIME_PERIOD = obj({"startDateTime": DATE_TIME, "endDateTime": DATE_TIME})
TAX_ITEM = obj({"taxCategory": STRING, "taxRate": {"type": "number"}, "taxAmount": MONEY})
APPLIED_PAYMENT = obj({"appliedAmount": MONEY, "payment": ENTITY_REF, "@type": STRING})
BILL_REF = obj({"id": STRING, "href": STRING, "@referredType": STRING}, required=["id"])


def _text(**kwargs):
    return serializers.CharField(read_only=True, **kwargs)


def _time(**kwargs):
    return serializers.DateTimeField(read_only=True, **kwargs)


@extend_schema_serializer(component_name="CustomerBill")
class CustomerBillAnswer(serializers.Serializer):
    """TMF678 CustomerBill. Its amounts are immutable; PATCH moves only its `state`."""

    billNo = _text()
    billDate = _time()
    lastUpdate = _time()
    state = _text()
    category = _text()
    runType = _text()
    billingPeriod = described(TIME_PERIOD)
    paymentDueDate = _time()
    amountDue = described(MONEY)
    remainingAmount = described(MONEY)
    taxExcludedAmount = described(MONEY)
    taxIncludedAmount = described(MONEY)
    taxItem = described(array(TAX_ITEM))
    billingAccount = described(ENTITY_REF)
    relatedParty = described(array(RELATED_PARTY))
    appliedPayment = described(array(APPLIED_PAYMENT))
    billDocument = described(array(ANY))


@extend_schema_serializer(component_name="AppliedCustomerBillingRate")
class AppliedCustomerBillingRateAnswer(serializers.Serializer):
    """TMF678 AppliedCustomerBillingRate: one bill line."""

    type = _text()
    name = _text()
    description = _text()
    date = _time()
    isBilled = serializers.BooleanField(read_only=True)
    periodCoverage = described(TIME_PERIOD)
    bill = described(BILL_REF)
    product = described(ENTITY_REF)
    billingAccount = described(ENTITY_REF)
    taxExcludedAmount = described(MONEY)
    taxIncludedAmount = described(MONEY)
    appliedTax = described(array(TAX_ITEM))
    characteristic = described(array(CHARACTERISTIC))

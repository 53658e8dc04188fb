"""Charging and billing: usage events, bill runs, bills and their lines, payments, credits."""

from billing.models.bills import (
    AppliedCharge,
    BillRun,
    BillRunFailure,
    BillSequence,
    CustomerBill,
    CustomerBillOnDemand,
    CustomerBillOnDemandStateChange,
    CustomerBillStateChange,
)
from billing.models.credits import SlaCredit
from billing.models.payments import Payment, PaymentAllocation
from billing.models.usage import UsageEvent, UsageSpecification

__all__ = [
    "AppliedCharge",
    "BillRun",
    "BillRunFailure",
    "BillSequence",
    "CustomerBill",
    "CustomerBillOnDemand",
    "CustomerBillOnDemandStateChange",
    "CustomerBillStateChange",
    "Payment",
    "PaymentAllocation",
    "SlaCredit",
    "UsageEvent",
    "UsageSpecification",
]

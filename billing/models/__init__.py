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
from billing.models.prepaid import (
    BalanceAction,
    ChargingSession,
    PrepaidBucket,
    PrepaidPlan,
    TopupBalance,
    Voucher,
)
from billing.models.usage import UsageEvent, UsageSpecification

__all__ = [
    "AppliedCharge",
    "BalanceAction",
    "BillRun",
    "BillRunFailure",
    "BillSequence",
    "ChargingSession",
    "CustomerBill",
    "CustomerBillOnDemand",
    "CustomerBillOnDemandStateChange",
    "CustomerBillStateChange",
    "Payment",
    "PaymentAllocation",
    "PrepaidBucket",
    "PrepaidPlan",
    "SlaCredit",
    "TopupBalance",
    "UsageEvent",
    "UsageSpecification",
    "Voucher",
]

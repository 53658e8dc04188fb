"""Charging and billing: usage events, bill runs, bills and their lines, payments, credits."""

from billing.models.adjustments import (
    CreditNote,
    CreditNoteAllocation,
    PaymentReversal,
    Refund,
)
from billing.models.balance_operations import AccumulatedBalance, ReserveBalance, TransferBalance
from billing.models.bill_runs import BillRunChunk
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
from billing.models.dunning import DunningAction, DunningCase, DunningPolicy, DunningStep
from billing.models.payments import Payment, PaymentAllocation
from billing.models.prepaid import (
    AdjustBalance,
    BalanceAction,
    ChargingSession,
    PrepaidBucket,
    PrepaidPlan,
    TopupBalance,
    Voucher,
)
from billing.models.revenue_assurance import (
    CaseEvent,
    FraudRule,
    FraudScan,
    ReconciliationRun,
    ReconciliationUnit,
    RevenueCase,
)
from billing.models.usage import UsageEvent, UsageSpecification

__all__ = [
    "RevenueCase",
    "ReconciliationUnit",
    "ReconciliationRun",
    "FraudScan",
    "FraudRule",
    "CaseEvent",
    "AccumulatedBalance",
    "AppliedCharge",
    "AdjustBalance",
    "BalanceAction",
    "BillRun",
    "BillRunChunk",
    "BillRunFailure",
    "BillSequence",
    "ChargingSession",
    "CreditNote",
    "CreditNoteAllocation",
    "CustomerBill",
    "CustomerBillOnDemand",
    "CustomerBillOnDemandStateChange",
    "CustomerBillStateChange",
    "DunningAction",
    "DunningCase",
    "DunningPolicy",
    "DunningStep",
    "Payment",
    "PaymentAllocation",
    "PaymentReversal",
    "PrepaidBucket",
    "PrepaidPlan",
    "Refund",
    "ReserveBalance",
    "SlaCredit",
    "TopupBalance",
    "TransferBalance",
    "UsageEvent",
    "UsageSpecification",
    "Voucher",
]

from django.urls import include, path, re_path

from billing.api import (
    adjustments,
    balance_operations,
    invoices,
    prepaid,
    reconciliation,
    revenue_cases,
    usage_batch,
    views,
)
from telco.api.views import TMFRouter

app_name = "billing-api"

usage_router = TMFRouter()
usage_router.register("usage", views.UsageViewSet, basename="usage")
usage_router.register(
    "usageSpecification", views.UsageSpecificationViewSet, basename="usageSpecification"
)

bill_router = TMFRouter()
bill_router.register("customerBill", views.CustomerBillViewSet, basename="customerBill")
bill_router.register(
    "customerBillOnDemand", views.CustomerBillOnDemandViewSet, basename="customerBillOnDemand"
)
bill_router.register(
    "appliedCustomerBillingRate",
    views.AppliedCustomerBillingRateViewSet,
    basename="appliedCustomerBillingRate",
)

payment_router = TMFRouter()
payment_router.register("payment", views.PaymentViewSet, basename="payment")
payment_router.register("refund", adjustments.RefundViewSet, basename="refund")

run_router = TMFRouter()
run_router.register("billRun", views.BillRunViewSet, basename="billRun")
run_router.register("rejectedUsage", usage_batch.RejectedUsageViewSet, basename="rejectedUsage")
run_router.register("chargingSession", prepaid.ChargingSessionViewSet, basename="chargingSession")
run_router.register("creditNote", adjustments.CreditNoteViewSet, basename="creditNote")
run_router.register(
    "paymentReversal", adjustments.PaymentReversalViewSet, basename="paymentReversal"
)
run_router.register("dunningCase", adjustments.DunningCaseViewSet, basename="dunningCase")

prepaid_router = TMFRouter()
prepaid_router.register("bucket", prepaid.BucketViewSet, basename="bucket")
prepaid_router.register("topupBalance", prepaid.TopupBalanceViewSet, basename="topupBalance")
prepaid_router.register("adjustBalance", prepaid.AdjustBalanceViewSet, basename="adjustBalance")
prepaid_router.register(
    "balanceActionHistory", prepaid.BalanceActionHistoryViewSet, basename="balanceActionHistory"
)
prepaid_router.register(
    "transferBalance", balance_operations.TransferBalanceViewSet, basename="transferBalance"
)
prepaid_router.register(
    "reserveBalance", balance_operations.ReserveBalanceViewSet, basename="reserveBalance"
)
prepaid_router.register(
    "accumulatedBalance",
    balance_operations.AccumulatedBalanceViewSet,
    basename="accumulatedBalance",
)

urlpatterns = [
    path("tmf-api/usageManagement/v4/", include(usage_router.urls)),
    path("tmf-api/customerBillManagement/v4/", include(bill_router.urls)),
    path("tmf-api/paymentManagement/v4/", include(payment_router.urls)),
    re_path(
        r"^api/v1/billing/customerBill/(?P<id>[^/]+)/pdf/?$",
        invoices.CustomerBillPdfView.as_view(),
        name="customerBill-pdf",
    ),
    path("tmf-api/prepayBalanceManagement/v4/", include(prepaid_router.urls)),
    path("api/v1/billing/", include(run_router.urls)),
    path("api/revenue-assurance/v1/", include(revenue_cases.case_router.urls)),
    path("api/revenue-assurance/v1/", include(reconciliation.router.urls)),
]

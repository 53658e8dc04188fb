"""The finance pages under /finance/ (namespace "finance"). Each page is listed on the finance
index (templates/billing/finance/index.html) and reached from the top bar's Finance link."""

from django.urls import path

from billing import bill_run_views, finance_views, money_views, revenue_views, usage_views

app_name = "finance"
urlpatterns = [
    path("", finance_views.finance_index, name="index"),
    path("bills/", finance_views.bill_search, name="bills"),
    path("payments/", finance_views.payment_list, name="payments"),
    path("aged-debt/", finance_views.aged_debt, name="aged-debt"),
    path("revenue/", finance_views.revenue, name="revenue"),
    *bill_run_views.urlpatterns,
    *money_views.urlpatterns,
    *usage_views.urlpatterns,
    *revenue_views.urlpatterns,
]

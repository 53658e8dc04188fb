"""The finance pages, /finance/: bills search, payments, aged debt and revenue by month and
product line. For the finance role and admins; agents and the NOC get 403."""

from django.shortcuts import render

from billing import reports
from billing.charts import revenue_chart
from billing.filters import BillFilter, PaymentFilter
from telco import clock

REVENUE_MONTHS = 12
REVENUE_MONTHS_MAX = 36


def _query_without_page(request) -> str:
    """The page's query string without `page`, for the pager's links."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def finance_index(request):
    """What finance can look at: links to the finance pages."""
    return render(request, "billing/finance/index.html")


def _filtered_page(request, filterset, template: str, rows_name: str):
    valid = not filterset.is_bound or filterset.is_valid()
    queryset = filterset.qs if valid else filterset.queryset.none()
    rows = reports.page_of(queryset, request.GET.get("page"))
    context = {"filter": filterset, rows_name: rows, "query": _query_without_page(request)}
    return render(request, template, context, status=200 if valid else 400)


def bill_search(request):
    """Bills by number, customer, state, period and amount, newest first, a page at a time."""
    filterset = BillFilter(request.GET or None, queryset=reports.bill_rows())
    return _filtered_page(request, filterset, "billing/finance/bills.html", "bills")


def payment_list(request):
    """Payments by customer, method, state and date, newest first, a page at a time."""
    filterset = PaymentFilter(request.GET or None, queryset=reports.payment_rows())
    return _filtered_page(request, filterset, "billing/finance/payments.html", "payments")


def _positive_int(raw, default: int, maximum: int) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return default
    return min(max(value, 1), maximum)


def aged_debt(request):
    """What accounts owe by age past the due date (0-30, 31-60, 61-90, 90+ days), largest debt
    first, with the totals of all accounts."""
    page = _positive_int(request.GET.get("page"), 1, 10**9)
    debt = reports.aged_debt(as_of=clock.now(), page=page)
    return render(request, "billing/finance/aged_debt.html", {"debt": debt})


def revenue(request):
    """Revenue by month and product line: a stacked bar chart and its table, per currency."""
    months = _positive_int(request.GET.get("months"), REVENUE_MONTHS, REVENUE_MONTHS_MAX)
    result = reports.revenue_by_month(now=clock.now(), months=months)
    sections = []
    for currency in sorted(result.lines):
        line_totals = result.line_totals(currency)
        sections.append(
            {
                "chart": revenue_chart(result, currency),
                "lines": [
                    {
                        "name": line,
                        "amounts": [
                            result.table[currency][line].get(month) for month in result.months
                        ],
                        "total": total,
                    }
                    for line, total in line_totals.items()
                ],
                "month_totals": list(result.month_totals(currency).values()),
                "grand_total": sum(line_totals.values()),
            }
        )
    context = {
        "months": result.months,
        "month_count": months,
        "month_choices": (3, 6, 12, 24, 36),
        "sections": sections,
    }
    return render(request, "billing/finance/revenue.html", context)

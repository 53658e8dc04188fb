"""FilterSets of the finance pages: bills and payments (django-filter).

Each filter's form field parses and checks its input; a value that does not parse is a field
error the page shows (and answers 400), never an exception.
"""

from datetime import datetime, time, timedelta

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone

from billing.choices import BillState, PaymentMethodType, PaymentState
from billing.models import CustomerBill, Payment
from billing.services.periods import add_months


def _start_of(day) -> datetime:
    """The first instant of `day` in the current time zone (UTC)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _next_month(day) -> datetime:
    return _start_of(add_months(day.replace(day=1), 1))


class MonthField(forms.DateField):
    """A month as `YYYY-MM` (what `<input type="month">` sends): its first day."""

    input_formats = ["%Y-%m"]
    widget = forms.DateInput(attrs={"type": "month"})


class MonthFilter(django_filters.Filter):
    field_class = MonthField


def _customer(queryset: QuerySet, account_field: str, value: str) -> QuerySet:
    """Rows of accounts whose customer's name contains `value`, or whose number is `value`."""
    return queryset.filter(
        Q(**{f"{account_field}__customer__name__icontains": value})
        | Q(**{f"{account_field}__account_number__iexact": value})
    )


class BillFilter(django_filters.FilterSet):
    """Bills by number, customer (name or account number), state, billing period (the month it
    starts) and total (including tax)."""

    number = django_filters.CharFilter(
        field_name="bill_no", lookup_expr="icontains", label="Number", max_length=20
    )
    customer = django_filters.CharFilter(
        method="filter_customer", label="Customer or account", max_length=160
    )
    state = django_filters.ChoiceFilter(choices=BillState.choices, label="State")
    period = MonthFilter(method="filter_period", label="Period (month)")
    amount_min = django_filters.NumberFilter(
        field_name="tax_included_amount", lookup_expr="gte", label="Total from"
    )
    amount_max = django_filters.NumberFilter(
        field_name="tax_included_amount", lookup_expr="lte", label="Total to"
    )

    class Meta:
        model = CustomerBill
        fields: list[str] = []

    def filter_customer(self, queryset, name, value):
        return _customer(queryset, "billing_account", value)

    def filter_period(self, queryset, name, value):
        return queryset.filter(
            period_start__gte=_start_of(value), period_start__lt=_next_month(value)
        )


class PaymentFilter(django_filters.FilterSet):
    """Payments by customer (name or account number), method, state and date (from, to
    inclusive)."""

    customer = django_filters.CharFilter(
        method="filter_customer", label="Customer or account", max_length=160
    )
    method = django_filters.ChoiceFilter(choices=PaymentMethodType.choices, label="Method")
    state = django_filters.ChoiceFilter(choices=PaymentState.choices, label="State")
    date_from = django_filters.DateFilter(
        method="filter_date_from", label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = django_filters.DateFilter(
        method="filter_date_to", label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    class Meta:
        model = Payment
        fields: list[str] = []

    def filter_customer(self, queryset, name, value):
        return _customer(queryset, "billing_account", value)

    def filter_date_from(self, queryset, name, value):
        return queryset.filter(payment_date__gte=_start_of(value))

    def filter_date_to(self, queryset, name, value):
        return queryset.filter(payment_date__lt=_start_of(value + timedelta(days=1)))

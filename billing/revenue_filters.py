"""The case list's filters (django-filter): class, state, owner, fraud or reconciliation, and a
text that finds the account, customer, product, service or network element."""

import django_filters
from django.db.models import Q, QuerySet

from billing.choices import FRAUD_CASE_KINDS, CaseKind, CaseState
from billing.revenue_selectors import case_owners

FRAUD, RECONCILIATION = "fraud", "reconciliation"


class CaseFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=CaseKind.choices, label="Class")
    state = django_filters.ChoiceFilter(choices=CaseState.choices, label="State")
    owner = django_filters.ModelChoiceFilter(
        queryset=lambda request: case_owners(), null_label="No owner", label="Owner"
    )
    origin = django_filters.ChoiceFilter(
        choices=((FRAUD, "Fraud"), (RECONCILIATION, "Reconciliation")),
        method="filter_origin",
        label="Found by",
    )
    text = django_filters.CharFilter(
        method="filter_text", label="Account, customer or element", max_length=120
    )

    def filter_origin(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        fraud = Q(kind__in=FRAUD_CASE_KINDS)
        return queryset.filter(fraud if value == FRAUD else ~fraud)

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(
            Q(billing_account__account_number__iexact=value)
            | Q(billing_account__customer__name__icontains=value)
            | Q(product__name__icontains=value)
            | Q(service__name__icontains=value)
            | Q(element__icontains=value)
            | Q(service_ref__icontains=value)
            | Q(summary__icontains=value)
        )

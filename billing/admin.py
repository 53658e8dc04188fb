from django.contrib import admin

from billing.models import (
    AppliedCharge,
    BillRun,
    BillRunFailure,
    BillSequence,
    CustomerBill,
    CustomerBillOnDemand,
    CustomerBillStateChange,
    Payment,
    PaymentAllocation,
    SlaCredit,
    UsageEvent,
    UsageSpecification,
)
from telco.admin import ReadOnlyInline, StateHistoryInline

LINE_FIELDS = (
    "charge_type",
    "name",
    "product",
    "period_start",
    "period_end",
    "quantity",
    "unit",
    "tax_rate",
    "tax_excluded_amount",
    "tax_amount",
    "tax_included_amount",
    "charge_key",
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Billing records are written by the bill run and usage ingest, never by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AppliedChargeInline(ReadOnlyInline):
    model = AppliedCharge
    fields = LINE_FIELDS
    readonly_fields = LINE_FIELDS
    show_change_link = True


class CustomerBillStateChangeInline(StateHistoryInline):
    model = CustomerBillStateChange


@admin.register(CustomerBill)
class CustomerBillAdmin(ReadOnlyAdmin):
    list_display = (
        "bill_no",
        "billing_account",
        "period_start",
        "period_end",
        "bill_date",
        "state",
        "tax_excluded_amount",
        "tax_included_amount",
        "remaining_amount",
        "currency",
    )
    list_filter = ("state", "currency", "bill_date")
    search_fields = ("bill_no", "billing_account__account_number", "billing_account__name")
    list_select_related = ("billing_account",)
    raw_id_fields = ("billing_account", "bill_run")
    date_hierarchy = "bill_date"
    inlines = [AppliedChargeInline, CustomerBillStateChangeInline]


class PaymentAllocationInline(ReadOnlyInline):
    model = PaymentAllocation
    fields = ("bill", "amount", "created_at")
    readonly_fields = fields


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    """Payments are recorded through the API (allocation needs the service), never by hand."""

    list_display = (
        "id",
        "billing_account",
        "payment_date",
        "method",
        "reference",
        "amount",
        "unallocated_amount",
        "currency",
        "state",
        "created_by",
    )
    list_filter = ("state", "method", "currency", "payment_date")
    search_fields = ("reference", "billing_account__account_number", "billing_account__name")
    list_select_related = ("billing_account",)
    raw_id_fields = ("billing_account",)
    date_hierarchy = "payment_date"
    inlines = [PaymentAllocationInline]


@admin.register(AppliedCharge)
class AppliedChargeAdmin(ReadOnlyAdmin):
    list_display = ("id", "bill", "charge_type", "name", "product", "tax_excluded_amount")
    list_filter = ("charge_type", "currency")
    search_fields = ("charge_key", "bill__bill_no", "name")
    list_select_related = ("bill", "product")
    raw_id_fields = ("bill", "billing_account", "product")


class BillRunFailureInline(ReadOnlyInline):
    """The accounts the run could not bill, and why."""

    model = BillRunFailure
    fields = readonly_fields = ("billing_account", "reason", "failed_at", "resolved_at")


@admin.register(BillRun)
class BillRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "as_of",
        "billing_account",
        "state",
        "progress",
        "accounts_failed",
        "bills_created",
        "started_at",
        "finished_at",
    )
    list_filter = ("state", "as_of")
    list_select_related = ("billing_account",)
    raw_id_fields = ("billing_account",)
    inlines = [BillRunFailureInline]

    @admin.display(description="accounts done")
    def progress(self, bill_run):
        return f"{bill_run.accounts_done}/{bill_run.accounts_total}"


@admin.register(UsageEvent)
class UsageEventAdmin(ReadOnlyAdmin):
    list_display = (
        "event_id",
        "usage_date",
        "product",
        "rating_group",
        "volume",
        "unit",
        "rated_volume",
        "status",
    )
    list_filter = ("status", "rejection_reason", "usage_type", "rating_group", "unit")
    search_fields = ("event_id", "product__name", "billing_account__account_number")
    list_select_related = ("product",)
    raw_id_fields = (
        "service",
        "product",
        "billing_account",
        "usage_specification",
        "applied_charge",
    )
    date_hierarchy = "usage_date"


@admin.register(UsageSpecification)
class UsageSpecificationAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "version", "lifecycle_status", "last_update")
    list_filter = ("lifecycle_status",)
    search_fields = ("id", "name")
    readonly_fields = ("last_update",)


@admin.register(CustomerBillOnDemand)
class CustomerBillOnDemandAdmin(ReadOnlyAdmin):
    list_display = ("id", "billing_account", "state", "customer_bill", "created_by", "created_at")
    list_filter = ("state",)
    list_select_related = ("billing_account", "customer_bill")
    raw_id_fields = ("billing_account", "customer_bill")


@admin.register(BillSequence)
class BillSequenceAdmin(ReadOnlyAdmin):
    list_display = ("name", "last_value")


@admin.register(SlaCredit)
class SlaCreditAdmin(ReadOnlyAdmin):
    """SLA credits as assurance recorded them; billed by the line with the same charge key."""

    list_display = (
        "product",
        "billing_account",
        "period_start",
        "period_end",
        "achieved_availability",
        "outage_minutes",
        "credit_percent",
        "amount",
        "currency",
        "charge_key",
    )
    list_filter = ("currency",)
    search_fields = ("charge_key", "product__name", "billing_account__account_number")
    list_select_related = ("product", "billing_account")
    raw_id_fields = ("billing_account", "product", "sla")


# Money owed (dunning, credit notes, refunds); fraud rules and revenue cases.
from billing import admin_fraud, admin_money  # noqa: E402, F401

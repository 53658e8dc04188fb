from django.contrib import admin

from crm.models import (
    BillingAccount,
    BillingAccountStateChange,
    Customer,
    Party,
    TroubleTicket,
    TroubleTicketStatusChange,
)
from telco.admin import StateHistoryInline


@admin.register(Party)
class PartyAdmin(admin.ModelAdmin):
    list_display = ("display_name", "kind", "email", "phone", "city", "country", "created_at")
    list_filter = ("kind", "country")
    search_fields = ("given_name", "family_name", "organization_name", "email", "phone")


class BillingAccountInline(admin.TabularInline):
    model = BillingAccount
    extra = 0
    fields = ("account_number", "name", "currency", "bill_cycle_day", "payment_method", "state")
    readonly_fields = ("account_number", "state")
    show_change_link = True


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "party", "status", "segment", "created_at")
    list_filter = ("status", "segment")
    search_fields = ("name", "party__email", "party__phone", "accounts__account_number")
    list_select_related = ("party",)
    raw_id_fields = ("party",)
    inlines = [BillingAccountInline]


class StateChangeInline(StateHistoryInline):
    model = BillingAccountStateChange


@admin.register(BillingAccount)
class BillingAccountAdmin(admin.ModelAdmin):
    list_display = (
        "account_number",
        "name",
        "customer",
        "currency",
        "bill_cycle_day",
        "payment_method",
        "credit_limit",
        "state",
    )
    list_filter = ("state", "currency", "payment_method", "bill_cycle_day")
    search_fields = ("account_number", "name", "customer__name")
    list_select_related = ("customer",)
    raw_id_fields = ("customer",)
    # The number is generated; the state moves through the account state table.
    readonly_fields = ("account_number", "state")
    inlines = [StateChangeInline]


@admin.register(BillingAccountStateChange)
class BillingAccountStateChangeAdmin(admin.ModelAdmin):
    list_display = ("account", "from_state", "to_state", "changed_at", "changed_by")
    list_filter = ("to_state",)
    search_fields = ("account__account_number", "changed_by")
    list_select_related = ("account",)
    raw_id_fields = ("account",)


class TroubleTicketStatusChangeInline(StateHistoryInline):
    model = TroubleTicketStatusChange


@admin.register(TroubleTicket)
class TroubleTicketAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "name",
        "customer",
        "ticket_type",
        "severity",
        "priority",
        "status",
        "assignee",
        "created_at",
        "expected_resolution_date",
    )
    list_filter = ("status", "severity", "ticket_type", "priority")
    search_fields = ("name", "description", "customer__name", "assignee")
    list_select_related = ("customer",)
    raw_id_fields = ("customer",)
    # The status moves through the ticket lifecycle; deadlines and dates are the service's.
    readonly_fields = (
        "status",
        "status_change_reason",
        "expected_response_date",
        "expected_resolution_date",
        "responded_at",
        "resolution_date",
        "created_at",
        "last_update",
    )
    inlines = [TroubleTicketStatusChangeInline]

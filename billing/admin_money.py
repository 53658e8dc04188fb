"""Admin for money owed: dunning policies and their steps are edited here; dunning cases,
credit notes, refunds and reversals are read (they are written by services)."""

from django.contrib import admin

from billing.models import (
    CreditNote,
    DunningAction,
    DunningCase,
    DunningPolicy,
    DunningStep,
    PaymentReversal,
    Refund,
)
from telco.admin import ReadOnlyInline


class DunningStepInline(admin.TabularInline):
    model = DunningStep
    extra = 0
    fields = ("position", "days_after_due", "action")
    ordering = ("position",)


@admin.register(DunningPolicy)
class DunningPolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "is_default", "minimum_amount", "description")
    inlines = [DunningStepInline]


class ReadOnlyModelAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DunningActionInline(ReadOnlyInline):
    model = DunningAction
    fields = ("position", "action", "state", "created_at", "done_at", "order_id", "detail")


@admin.register(DunningCase)
class DunningCaseAdmin(ReadOnlyModelAdmin):
    list_display = (
        "bill",
        "billing_account",
        "opened_at",
        "closed_at",
        "close_reason",
    )
    list_filter = ("close_reason",)
    list_select_related = ("bill", "billing_account")
    search_fields = ("bill__bill_no", "billing_account__account_number")
    inlines = [DunningActionInline]


@admin.register(CreditNote)
class CreditNoteAdmin(ReadOnlyModelAdmin):
    list_display = ("number", "bill", "amount", "currency", "reason", "state", "created_by")
    list_filter = ("state", "reason")
    list_select_related = ("bill",)
    search_fields = ("number", "bill__bill_no")


@admin.register(Refund)
class RefundAdmin(ReadOnlyModelAdmin):
    list_display = ("pk", "billing_account", "payment", "amount", "currency", "refund_date")
    list_select_related = ("billing_account", "payment")


@admin.register(PaymentReversal)
class PaymentReversalAdmin(ReadOnlyModelAdmin):
    list_display = ("payment", "reason", "reversed_at", "created_by")
    list_select_related = ("payment",)

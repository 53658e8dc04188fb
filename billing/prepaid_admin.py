"""Admin for prepaid: vouchers are made here (finance), balances, top-ups, adjustments,
transfers, reservations, sessions and the ledger are read-only (they move through the TMF654
operations and charging only)."""

from decimal import Decimal

from django import forms
from django.contrib import admin

from billing.models import (
    AdjustBalance,
    BalanceAction,
    ChargingSession,
    PrepaidBucket,
    PrepaidPlan,
    ReserveBalance,
    TopupBalance,
    TransferBalance,
    Voucher,
)
from billing.services import voucher_create


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PrepaidPlan)
class PrepaidPlanAdmin(admin.ModelAdmin):
    list_display = ("offering", "validity_days", "data_mb", "voice_minutes", "sms", "renewal_price")
    list_select_related = ("offering",)
    raw_id_fields = ("offering",)


@admin.register(PrepaidBucket)
class PrepaidBucketAdmin(ReadOnly):
    list_display = ("id", "product", "usage_type", "remaining", "reserved", "units", "status")
    list_filter = ("usage_type", "status")
    list_select_related = ("product",)
    search_fields = ("product__name", "billing_account__account_number")


@admin.register(AdjustBalance)
class AdjustBalanceAdmin(ReadOnly):
    list_display = ("id", "bucket", "amount", "unrecovered", "reason", "payment", "created_by")
    list_select_related = ("bucket", "payment")
    search_fields = ("reason", "bucket__product__name")


@admin.register(ChargingSession)
class ChargingSessionAdmin(ReadOnly):
    list_display = ("session_id", "product", "usage_type", "state", "reserved", "used")
    list_filter = ("state", "usage_type")
    list_select_related = ("product",)
    search_fields = ("session_id",)


@admin.register(BalanceAction)
class BalanceActionAdmin(ReadOnly):
    list_display = ("id", "bucket", "kind", "amount", "session", "created_at")
    list_filter = ("kind",)
    list_select_related = ("bucket", "session")


@admin.register(TopupBalance)
class TopupBalanceAdmin(ReadOnly):
    list_display = ("id", "bucket", "amount", "status", "voucher", "payment", "requested_date")
    list_select_related = ("bucket", "voucher", "payment")


@admin.register(TransferBalance)
class TransferBalanceAdmin(ReadOnly):
    list_display = ("id", "bucket", "receiver_bucket", "amount", "reason", "created_by")
    list_select_related = ("bucket", "receiver_bucket")
    search_fields = ("reason", "bucket__product__name", "receiver_bucket__product__name")


@admin.register(ReserveBalance)
class ReserveBalanceAdmin(ReadOnly):
    list_display = ("id", "bucket", "amount", "status", "valid_to", "closed_at", "close_reason")
    list_filter = ("status",)
    list_select_related = ("bucket",)
    search_fields = ("reason", "bucket__product__name")


class VoucherForm(forms.ModelForm):
    class Meta:
        model = Voucher
        fields = ("amount", "currency", "valid_to")


@admin.register(Voucher)
class VoucherAdmin(admin.ModelAdmin):
    """A voucher's code is drawn by the service (unguessable), never typed."""

    form = VoucherForm
    list_display = ("code", "amount", "currency", "valid_to", "used_at")
    list_filter = ("currency",)
    search_fields = ("code",)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        made = voucher_create(
            amount=Decimal(obj.amount), currency=obj.currency, valid_to=obj.valid_to
        )
        obj.pk, obj.code, obj.created_at = made.pk, made.code, made.created_at

"""Admin of fraud rules (risk staff and admins edit them, thresholds checked per rule) and of
revenue-assurance and fraud cases (read-only: cases change through their page's actions)."""

import json

from django import forms
from django.contrib import admin

from billing.models import CaseEvent, FraudRule, FraudScan, RevenueCase
from billing.services.fraud import fraud_thresholds_errors
from telco import clock
from telco.admin import ReadOnlyInline
from telco.roles import RISK, has_role


class FraudRuleForm(forms.ModelForm):
    class Meta:
        model = FraudRule
        fields = ("name", "description", "is_enabled", "thresholds", "score", "bars_automatically")

    def clean_score(self):
        score = self.cleaned_data["score"]
        if not 0 < score <= 100:
            raise forms.ValidationError("A score is between 1 and 100.")
        return score

    def clean(self):
        cleaned = super().clean()
        thresholds = cleaned.get("thresholds")
        if "thresholds" in cleaned:
            errors = fraud_thresholds_errors(self.instance.code, thresholds)
            if errors:
                self.add_error(
                    "thresholds",
                    [f"{name}: {message}" for name, message in sorted(errors.items())],
                )
        return cleaned


@admin.register(FraudRule)
class FraudRuleAdmin(admin.ModelAdmin):
    """The three rules exist from the start (migration): they are tuned, enabled or disabled,
    never added or deleted. Risk staff and admins change them; others may look."""

    form = FraudRuleForm
    list_display = ("name", "code", "is_enabled", "score", "bars_automatically", "thresholds_text")
    list_filter = ("is_enabled", "bars_automatically")
    readonly_fields = ("code", "last_update")
    fields = (
        "code",
        "name",
        "description",
        "is_enabled",
        "thresholds",
        "score",
        "bars_automatically",
        "last_update",
    )

    @admin.display(description="Thresholds")
    def thresholds_text(self, rule):
        return json.dumps(rule.thresholds, sort_keys=True)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return has_role(request.user, RISK) and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        obj.last_update = clock.now()
        super().save_model(request, obj, form, change)


@admin.register(FraudScan)
class FraudScanAdmin(admin.ModelAdmin):
    list_display = ("name", "last_usage_id", "scanned_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CaseEventInline(ReadOnlyInline):
    model = CaseEvent
    fields = ("at", "type", "by", "from_state", "to_state", "text")
    readonly_fields = fields


@admin.register(RevenueCase)
class RevenueCaseAdmin(admin.ModelAdmin):
    """Cases as found; their states, owners, notes and actions change on the case pages."""

    list_display = (
        "id",
        "kind",
        "state",
        "summary",
        "score",
        "amount_at_risk",
        "currency",
        "last_seen",
    )
    list_filter = ("kind", "state")
    search_fields = ("fingerprint", "summary", "billing_account__account_number")
    list_select_related = ("billing_account",)
    raw_id_fields = ("billing_account", "product", "service", "owner", "last_run")
    inlines = [CaseEventInline]
    date_hierarchy = "last_seen"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

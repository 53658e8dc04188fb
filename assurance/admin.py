from django.contrib import admin

from assurance.models import Alarm, AlarmStateChange, AlarmTask
from telco.admin import StateHistoryInline


class AlarmStateChangeInline(StateHistoryInline):
    model = AlarmStateChange


@admin.register(Alarm)
class AlarmAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "alarmed_object_ref",
        "resource",
        "perceived_severity",
        "probable_cause",
        "state",
        "ack_state",
        "occurrence_count",
        "is_service_affecting",
        "alarm_raised_time",
        "source_system_id",
    )
    list_filter = (
        "state",
        "ack_state",
        "perceived_severity",
        "alarm_type",
        "is_service_affecting",
        "source_system_id",
    )
    search_fields = (
        "alarmed_object_ref",
        "resource__name",
        "probable_cause",
        "specific_problem",
        "external_alarm_id",
        "reduction_key",
    )
    list_select_related = ("resource",)
    raw_id_fields = ("resource", "affected_services")
    date_hierarchy = "alarm_raised_time"
    readonly_fields = ("reduction_key", "occurrence_count", "alarm_reported_time")
    inlines = [AlarmStateChangeInline]


@admin.register(AlarmStateChange)
class AlarmStateChangeAdmin(admin.ModelAdmin):
    list_display = ("alarm", "from_state", "to_state", "changed_at", "changed_by", "reason")
    list_filter = ("to_state",)
    search_fields = ("alarm__alarmed_object_ref", "changed_by", "reason")
    list_select_related = ("alarm",)
    raw_id_fields = ("alarm",)


@admin.register(AlarmTask)
class AlarmTaskAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "user_id", "system_id", "effective_time", "state", "created_by")
    list_filter = ("kind", "state")
    search_fields = ("user_id", "system_id", "created_by")
    date_hierarchy = "created_at"
    raw_id_fields = ("alarms",)


# Incidents (TMF656 service problems) and maintenance windows.
from assurance import maintenance  # noqa: E402
from assurance.choices import OPEN_INCIDENT_STATES  # noqa: E402
from assurance.models import (  # noqa: E402
    Incident,
    IncidentService,
    IncidentStateChange,
    MaintenanceWindow,
)


class IncidentStateChangeInline(StateHistoryInline):
    model = IncidentStateChange


class IncidentServiceInline(admin.TabularInline):
    model = IncidentService
    fields = ("service", "impact", "started_at", "ended_at")
    readonly_fields = fields
    raw_id_fields = ("service",)
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "name",
        "state",
        "root_resource",
        "first_alarm_time",
        "confirmed_at",
        "services_down",
        "services_degraded",
        "customers_count",
        "revenue_at_risk",
        "in_maintenance",
    )
    list_filter = ("state", "in_maintenance", "category")
    search_fields = ("name", "root_resource__name", "assigned_to")
    date_hierarchy = "first_alarm_time"
    raw_id_fields = ("root_alarm", "root_resource")
    # Status moves go through the transition table (the NOC pages, the TMF656 API): read-only.
    readonly_fields = (
        "state",
        "status_change_date",
        "status_change_reason",
        "confirmed_at",
        "acknowledged_at",
        "acknowledged_by",
        "resolved_at",
        "services_down",
        "services_degraded",
        "products_count",
        "accounts_count",
        "customers_count",
        "customers_by_segment",
        "revenue_at_risk",
        "currency",
        "impact_updated_at",
        "in_maintenance",
    )
    inlines = [IncidentServiceInline, IncidentStateChangeInline]
    list_select_related = ("root_resource",)


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(admin.ModelAdmin):
    list_display = ("resource", "starts_at", "ends_at", "description", "created_by")
    list_filter = ("starts_at",)
    search_fields = ("resource__name", "description")
    raw_id_fields = ("resource",)
    list_select_related = ("resource",)
    date_hierarchy = "starts_at"

    def save_model(self, request, obj, form, change):
        if not obj.created_by:
            obj.created_by = request.user.get_username()
        super().save_model(request, obj, form, change)
        # Open incidents now under planned work are flagged at once.
        maintenance.incidents_flag_maintenance(
            Incident.objects.filter(state__in=OPEN_INCIDENT_STATES).values_list("pk", flat=True)
        )


# KPI thresholds: the NOC sets the levels; the terms are checked by KpiThreshold.clean (the same
# rule as every other writer's) and the constraints, so a bad set is answered on the form.
from assurance.models import KpiBreach, KpiThreshold  # noqa: E402


@admin.register(KpiThreshold)
class KpiThresholdAdmin(admin.ModelAdmin):
    list_display = (
        "metric",
        "resource",
        "raise_above",
        "clear_below",
        "raise_after",
        "severity",
        "is_active",
    )
    list_filter = ("metric", "severity", "is_active")
    search_fields = ("resource__name",)
    list_select_related = ("resource",)
    raw_id_fields = ("resource",)
    fieldsets = (
        (None, {"fields": ("metric", "resource", "severity", "is_active")}),
        (
            "Hysteresis",
            {
                "fields": ("raise_above", "raise_after", "clear_below"),
                "description": "Raised after `raise after` consecutive samples above `raise "
                "above`; cleared by the first sample below `clear below` (which must be lower).",
            },
        ),
    )


@admin.register(KpiBreach)
class KpiBreachAdmin(admin.ModelAdmin):
    """Read-only: breaches are what the thresholds recorded."""

    list_display = ("series", "threshold", "started_at", "ended_at", "alarm")
    list_filter = ("threshold__metric",)
    list_select_related = ("series", "threshold", "alarm")
    date_hierarchy = "started_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

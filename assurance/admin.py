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

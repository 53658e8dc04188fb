from django.contrib import admin

from telco.models import IdempotentRequest


@admin.register(IdempotentRequest)
class IdempotentRequestAdmin(admin.ModelAdmin):
    list_display = ["key", "path", "user", "state", "status_code", "created_at"]
    list_filter = ["state", "status_code"]
    search_fields = ["key", "path"]
    list_select_related = ["user"]
    readonly_fields = [
        "key",
        "user",
        "path",
        "state",
        "request_hash",
        "status_code",
        "body",
        "location",
        "created_at",
    ]


admin.site.site_header = "Telco OSS/BSS administration"
admin.site.site_title = "Telco admin"


class ReadOnlyInline(admin.TabularInline):
    """Rows shown under their parent that only services write: no adding, changing or deleting."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class StateHistoryInline(ReadOnlyInline):
    """The read-only history of a state machine (telco.states.StateChange rows)."""

    readonly_fields = ("from_state", "to_state", "changed_at", "changed_by", "reason")

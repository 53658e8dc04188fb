"""Listeners in admin: state, failures, last error, pending events; resume and replay."""

from django.contrib import admin, messages

from telco.events import delivery, services
from telco.events.models import EventListener


@admin.register(EventListener)
class EventListenerAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "api",
        "callback",
        "query",
        "state",
        "failures",
        "pending",
        "delivered_count",
        "last_delivered_at",
        "short_error",
    ]
    list_filter = ["state", "api"]
    search_fields = ["callback", "api"]
    readonly_fields = [
        "api",
        "callback",
        "query",
        "event_types",
        "states",
        "owner",
        "state",
        "cursor",
        "failures",
        "last_error",
        "next_attempt_at",
        "delivered_count",
        "last_delivered_at",
        "created_at",
        "pending",
    ]
    exclude = ["secret"]
    actions = ["resume_and_replay"]

    @admin.display(description="pending events")
    def pending(self, listener):
        # One count per listed listener: listeners are few (one per subscribing system).
        return delivery.pending_count(listener)

    @admin.display(description="last error")
    def short_error(self, listener):
        return listener.last_error[:120]

    def has_add_permission(self, request):
        return False  # listeners register through their API's /hub

    @admin.action(description="Resume and replay (deliver everything after the cursor)")
    def resume_and_replay(self, request, queryset):
        resumed = 0
        for listener in queryset:
            services.listener_resume(listener_id=listener.pk)
            resumed += 1
        self.message_user(request, f"{resumed} listener(s) resumed.", messages.SUCCESS)

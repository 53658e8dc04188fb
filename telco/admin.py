from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse

from telco import clock
from telco.exceptions import DomainError
from telco.models import IdempotentRequest, TestClock
from telco.roles import has_role


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


class TestClockForm(forms.Form):
    advance_by = forms.DurationField(
        required=False, help_text="How far forward, e.g. 40 00:00:00 (40 days) or 06:00:00."
    )


@admin.register(TestClock)
class TestClockAdmin(admin.ModelAdmin):
    """One page: where the product's clock stands, and moving it forward (or back to real time)
    for every process. Only with TEST_CLOCK_ENABLED; admins only."""

    def has_module_permission(self, request):
        return settings.TEST_CLOCK_ENABLED and has_role(request.user)  # admins

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = TestClockForm(request.POST or None)
        if request.method == "POST":
            by = request.user.get_username()
            try:
                if "reset" in request.POST:
                    clock.clock_reset(by=by)
                elif form.is_valid() and form.cleaned_data["advance_by"]:
                    step = form.cleaned_data["advance_by"]
                    clock.clock_advance(seconds=step.total_seconds(), by=by)
                else:
                    raise DomainError("Say how far forward.", field="advance_by")
            except DomainError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, f"The clock now reads {clock.now():%Y-%m-%d %H:%M} UTC.")
                return HttpResponseRedirect(request.path)
        context = {
            **self.admin_site.each_context(request),
            "title": "Test clock",
            "opts": self.model._meta,
            "form": form,
            "clock": clock.clock_state(),
        }
        return TemplateResponse(request, "admin/telco/test_clock.html", context)


# The event hub's listeners (telco.events).
import telco.events.admin  # noqa: E402, F401

"""A History tab in admin for every audited model: Django's own "History" button on a change
page shows the object's audit trail (changes with before -> after, who, from where) instead of
the admin's log of its own edits only. The event tables themselves are listed read-only."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse

from telco.audit import panels, selectors


def audit_history_view(model_admin, request, object_id, extra_context=None):
    """The object's audit trail, for whoever may view the object in admin."""
    model = model_admin.model
    obj = get_object_or_404(model, pk=unquote(object_id))
    if not model_admin.has_view_or_change_permission(request, obj):
        raise PermissionDenied
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"History: {obj}",
        "subtitle": None,
        "object": obj,
        "opts": model._meta,
        "module_name": str(model._meta.verbose_name_plural),
        "audit_events": selectors.history_of(obj, related=panels.related_ids(obj), limit=200),
        "audit_recorded": selectors.recorded(),
        **(extra_context or {}),
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/audit/object_history.html", context)


def use_audit_history(site=admin.site) -> None:
    """Point the History view of each registered audited model at its audit trail (this app's
    admin loads after every other app's, so their ModelAdmins are registered by now)."""
    for label in selectors.event_models():
        model_admin = site._registry.get(_model_of(label))  # noqa: SLF001 - no public getter
        if model_admin is not None:
            model_admin.history_view = audit_history_view.__get__(model_admin)


def _model_of(label):
    from django.apps import apps

    return apps.get_model(label)


use_audit_history()


class EventAdmin(admin.ModelAdmin):
    """An event table, read-only: the trail is written by triggers, never by hand."""

    list_display = ["pgh_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "pgh_context"]
    list_filter = ["pgh_label"]
    search_fields = ["pgh_obj_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


for event_model in selectors.event_models().values():
    admin.site.register(event_model, EventAdmin)

"""Reads of the audit trail: the events of objects or of a model, with what each change did
(before -> after), who made it and from where, in a fixed number of queries."""

from dataclasses import dataclass, field
from datetime import datetime

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection
from pghistory.models import Events

# The tracked models whose trail finance reads too (the rest: admins only).
MONEY_MODELS = {
    "crm.billingaccount",
    "catalog.productofferingprice",
    "billing.customerbill",
    "billing.payment",
    "billing.revenuecase",
}


def recorded() -> bool:
    """The trail is written by PostgreSQL triggers: elsewhere (SQLite) there is none."""
    return connection.vendor == "postgresql"


def event_models() -> dict[str, type]:
    """Tracked model label ("billing.customerbill") -> its event model."""
    return {
        model.pgh_tracked_model._meta.label_lower: model
        for model in apps.get_app_config("audit").get_models()
        if hasattr(model, "pgh_tracked_model")
    }


def event_model_named(name: str) -> type | None:
    """The event model of a tracked model named by label ("billing.CustomerBill") or by model
    name alone ("customerBill"), case-insensitive."""
    wanted = name.strip().lower()
    for label, model in event_models().items():
        if wanted in (label, label.split(".", 1)[1]):
            return model
    return None


@dataclass
class Change:
    field: str
    before: object
    after: object


@dataclass
class AuditEvent:
    """One recorded change, ready to show."""

    id: str
    model: str
    object_id: str
    action: str
    at: datetime
    context: dict
    user: str = ""
    changes: list[Change] = field(default_factory=list)
    values: dict = field(default_factory=dict)

    @property
    def source(self) -> str:
        return self.context.get("source") or "database"

    @property
    def via(self) -> str:
        """The task, command or URL that made the change."""
        return (
            self.context.get("task") or self.context.get("command") or self.context.get("url", "")
        )


def events(
    *,
    event_model_list: list[type],
    object_ids: list | None = None,
    user_id: int | None = None,
    since: datetime | None = None,
):
    """The events of those models (of those objects of the one model, if given), newest
    first, as a queryset of pghistory's aggregate `Events` (one SQL statement)."""
    queryset = Events.objects.across(*event_model_list)
    if object_ids is not None:
        (event_model,) = event_model_list
        tracked = event_model.pgh_tracked_model
        queryset = queryset.tracks([tracked(pk=pk) for pk in object_ids] or [tracked(pk=0)])
    if user_id is not None:
        queryset = queryset.filter(pgh_context__user=user_id)
    if since is not None:
        queryset = queryset.filter(pgh_created_at__gte=since)
    # One table's ids are the order its events were written in; across tables, their times.
    if len(event_model_list) == 1:
        return queryset.order_by("-pgh_id")
    return queryset.order_by("-pgh_created_at", "-pgh_id")


def as_audit_events(rows) -> list[AuditEvent]:
    """`Events` rows as `AuditEvent`s, with user names read in one query for them all."""
    rows = list(rows)
    user_ids = {(row.pgh_context or {}).get("user") for row in rows} - {None}
    names = dict(
        get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "username")
        if user_ids
        else ()
    )
    result = []
    for row in rows:
        context = row.pgh_context or {}
        diff = row.pgh_diff or {}
        result.append(
            AuditEvent(
                id=row.pgh_slug,
                model=row.pgh_obj_model.lower(),
                object_id=row.pgh_obj_id,
                action=row.pgh_label,
                at=row.pgh_created_at,
                context=context,
                user=names.get(context.get("user"), ""),
                changes=[Change(name, *diff[name]) for name in sorted(diff)],
                values={k: v for k, v in (row.pgh_data or {}).items() if k != "id"},
            )
        )
    return result


def history_of(obj, *, related: dict | None = None, limit: int = 20) -> list[AuditEvent]:
    """The latest changes of `obj` (and of `related`: {tracked label: ids}), newest first: one
    query per model involved, and one for the user names."""
    if not recorded():
        return []
    models = event_models()
    wanted = {obj._meta.label_lower: [obj.pk], **(related or {})}
    rows = []
    for label, ids in wanted.items():
        if label in models and ids:
            rows.extend(events(event_model_list=[models[label]], object_ids=list(ids))[:limit])
    rows.sort(key=lambda row: (row.pgh_created_at, row.pgh_id), reverse=True)
    return as_audit_events(rows[:limit])

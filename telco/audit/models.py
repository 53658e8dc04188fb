"""The audit trail: one event table per tracked model, filled by PostgreSQL triggers
(django-pghistory), so a change made by set-based SQL (bulk alarm ingest, a bill run, dunning)
is recorded as surely as one made through the ORM.

Each event row is a snapshot of the tracked fields after the change (before it, for a delete),
labelled insert, update or delete, with its context as JSON: user (id), url, method, source
(api, admin, page, task, command), task or command name, and `at` (the product's clock). The
before and after of a change come from comparing a snapshot with the one before it
(`audit.selectors`).

The triggers exist on PostgreSQL only (installed after `migrate`); on SQLite (the embedded demo)
the tables exist and stay empty.
"""

import pghistory
import pgtrigger
from django.db import models
from pghistory.trigger import Event

from assurance.models import Alarm, Incident
from billing.models import CustomerBill, Payment, RevenueCase
from catalog.models import ProductOffering, ProductOfferingPrice
from crm.models import BillingAccount, Customer, Party
from orders.models import ProductOrder, ProductOrderItem

# Touched by every save: the event's own time says when, so a change of it alone is not news.
NOISE = {"last_update"}
# An alarm's human-relevant changes (the NOC's moves); not the dedup counter and last-seen time
# the ingest bumps on every repeat of a fault.
ALARM_FIELDS = [
    "alarmed_object_ref",
    "probable_cause",
    "perceived_severity",
    "state",
    "ack_state",
    "ack_user_id",
    "comments",
    "alarm_cleared_time",
]
ALARM_CHANGES = ["perceived_severity", "state", "ack_state", "comments"]


ROW = pgtrigger.Row


def _inserts():
    """Inserts: one INSERT ... SELECT per statement over its transition table, not a function
    call per row (bulk ingest, bill runs' COPY). Updates and deletes stay row triggers where
    the ORM updates a row at a time: their condition is a WHEN clause PostgreSQL checks without
    calling anything, where a statement trigger plans a join of the old and new rows for every
    UPDATE. Alarms, updated in bulk, use `StatementUpdateEvent`."""
    return pghistory.InsertEvent(level=pgtrigger.Statement)


class _PlannedStatementEvent(Event):
    """A statement-level event trigger whose INSERT is planned each time it fires (EXECUTE).
    PL/pgSQL would keep the plan made at its first firing, when the transition tables looked
    empty: a nested loop over the old and new rows (seconds for 5,000 rows, where a hash join
    takes milliseconds)."""

    def get_func(self, model):
        statement = str(super().get_func(model).func).strip()
        statement = statement.removesuffix("RETURN NULL;").strip().removesuffix(";")
        return pgtrigger.Func(f"EXECUTE $planned${statement}$planned$; RETURN NULL;")


class StatementUpdateEvent(pghistory.UpdateEvent):
    """Updates recorded once per statement: the set-based UPDATEs of a bulk feed (an alarm
    storm's repeats raising severity) write their events in one INSERT ... SELECT over the
    statement's old and new rows, not one function call per row."""

    def add_event_trigger(self, event_model):
        trigger = _PlannedStatementEvent(
            event_model=event_model,
            label=self.label,
            name=self.trigger_name,
            row=self.row,
            operation=self.operation,
            condition=self.condition,
            level=pgtrigger.Statement,
        )
        pgtrigger.register(trigger)(event_model.pgh_tracked_model)


def _audited(model, *, fields=None, exclude=(), trackers=None):
    """The event model of `model`, named `<Model>Event`, in this app."""
    names = fields or [
        f.name for f in model._meta.concrete_model._meta.local_fields if f.name not in NOISE
    ]
    names = [name for name in names if name not in exclude]
    return pghistory.create_event_model(
        model,
        *(
            trackers
            or (_inserts(), pghistory.UpdateEvent(level=ROW), pghistory.DeleteEvent(level=ROW))
        ),
        fields=names,
        context_field=pghistory.ContextJSONField(),
        obj_field=pghistory.ObjForeignKey(related_name="audit_events"),
        model_name=f"{model._meta.object_name}Event",
        app_label="audit",
        abstract=False,
        # Alarm storms write many events over the years: a 64-bit id.
        attrs={"pgh_id": models.BigAutoField(primary_key=True)},
    )


PartyEvent = _audited(Party)
CustomerEvent = _audited(Customer)
BillingAccountEvent = _audited(BillingAccount)
ProductOfferingEvent = _audited(ProductOffering)
ProductOfferingPriceEvent = _audited(ProductOfferingPrice)
ProductOrderEvent = _audited(ProductOrder)
ProductOrderItemEvent = _audited(ProductOrderItem)
# The bill number is given after the bill run copies its bills in (a placeholder until then):
# numbering is not an edit, and the bill's id names it in the trail anyway.
CustomerBillEvent = _audited(CustomerBill, exclude=("bill_no",))
PaymentEvent = _audited(Payment)
AlarmEvent = _audited(
    Alarm,
    fields=ALARM_FIELDS,
    trackers=(
        _inserts(),
        StatementUpdateEvent(condition=pghistory.AnyChange(*ALARM_CHANGES)),
    ),
)
# Its impact figures are recomputed by machine whenever alarms join or clear: not news either.
INCIDENT_IMPACT = (
    "services_down",
    "services_degraded",
    "products_count",
    "accounts_count",
    "customers_count",
    "customers_by_segment",
    "revenue_at_risk",
    "impact_updated_at",
)
IncidentEvent = _audited(Incident, exclude=INCIDENT_IMPACT)
RevenueCaseEvent = _audited(RevenueCase)

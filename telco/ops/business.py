"""The business figures /metrics shows, read at scrape time through the apps' selectors: a few
cheap queries, each on an index (or bounded by the last minutes' rows)."""

import math
from datetime import timedelta

from django.db.models import Subquery
from django.db.models.functions import Coalesce
from prometheus_client.core import GaugeMetricFamily

from assurance import selectors as assurance_selectors
from billing import revenue_selectors
from billing import selectors as billing_selectors
from billing.choices import BillRunState, CaseKind
from orders import selectors as order_selectors
from telco import clock

ACTIVATION_WINDOW = timedelta(hours=1)
USAGE_WINDOWS = {"1m": timedelta(minutes=1), "5m": timedelta(minutes=5)}
QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99}


def gauge(name: str, documentation: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=labels)


def nearest_rank(ordered: list[float], quantile: float) -> float:
    """The smallest value with at least `quantile` of the values at or under it."""
    index = max(0, math.ceil(quantile * len(ordered)) - 1)
    return ordered[index]


def activation_families(now):
    durations = sorted(order_selectors.activation_seconds_since(now - ACTIVATION_WINDOW))
    count = gauge(
        "telco_activations_completed_last_hour",
        "Service orders completed in the last hour.",
    )
    count.add_metric([], len(durations))
    seconds = gauge(
        "telco_activation_seconds_last_hour",
        "Order-to-completion time of the service orders completed in the last hour.",
        ["statistic"],
    )
    if durations:
        seconds.add_metric(["mean"], sum(durations) / len(durations))
        for label, quantile in QUANTILES.items():
            seconds.add_metric([label], nearest_rank(durations, quantile))
        seconds.add_metric(["max"], durations[-1])
    return [count, seconds]


def usage_received_since(since) -> int:
    """Usage events received since `since`. Ids grow with arrival, so the newest event received
    before `since` is found walking the primary key backwards (reading only the window's rows),
    and the count is a range of ids: no index on the arrival time of a table this large."""
    events = billing_selectors.usage_list().select_related(None).order_by()
    boundary = events.filter(received_at__lt=since).order_by("-pk").values("pk")[:1]
    return events.filter(pk__gt=Coalesce(Subquery(boundary), 0)).count()


def metric_families():
    now = clock.now()
    orders = gauge("telco_product_orders_open", "Product orders in each open state.", ["state"])
    for state, total in order_selectors.open_product_order_counts_by_state().items():
        orders.add_metric([state], total)
    yield orders
    yield from activation_families(now)

    usage = gauge(
        "telco_usage_events_received", "Usage events received in the last window.", ["window"]
    )
    for label, window in USAGE_WINDOWS.items():
        usage.add_metric([label], usage_received_since(now - window))
    yield usage

    alarms = gauge("telco_alarms_open", "Alarms not cleared, by perceived severity.", ["severity"])
    for severity, total in assurance_selectors.active_alarm_counts_by_severity().items():
        alarms.add_metric([severity], total)
    yield alarms
    incidents = gauge("telco_incidents_open", "Incidents still affecting the network.")
    incidents.add_metric([], assurance_selectors.open_incident_count())
    yield incidents

    runs = (
        billing_selectors.bill_run_list()
        .select_related(None)
        .prefetch_related(None)
        .filter(state=BillRunState.RUNNING)
        .values_list("pk", "accounts_done", "accounts_total")
    )
    done = gauge("telco_bill_run_accounts_done", "Accounts billed by a running bill run.", ["run"])
    total = gauge("telco_bill_run_accounts_total", "Accounts a running bill run bills.", ["run"])
    for run_id, accounts_done, accounts_total in runs:
        done.add_metric([str(run_id)], accounts_done)
        total.add_metric([str(run_id)], accounts_total)
    yield done
    yield total

    cases = gauge(
        "telco_revenue_cases_open",
        "Revenue-assurance and fraud cases open or investigated.",
        ["kind"],
    )
    counts = {row.kind: row.count for row in revenue_selectors.open_cases_by_kind()}
    for kind in CaseKind:
        cases.add_metric([kind.value], counts.get(kind.value, 0))
    yield cases

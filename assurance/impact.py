"""An incident's impact, kept true while it lives: which services are down or degraded (since
when, until when), and the products, accounts, customers, segments and monthly recurring revenue
behind them.

`incident_impact_refresh` recomputes it from the incident's active alarms in a few statements,
whatever changed (alarms joined or cleared, the topology moved): the failed resources are read
against the service paths (`inventory.paths`), `IncidentService` rows whose impact no longer
holds are ended and the new ones started, and the cached figures on the incident rewritten.
"""

from decimal import Decimal

from django.db import connection, transaction

from assurance.choices import OPEN_INCIDENT_STATES, AlarmState, ServiceImpact
from assurance.models import Alarm, Incident, IncidentService
from inventory import paths
from inventory.topology import services_depending_on
from telco import clock
from telco.db import bound_cursor, id_array

IMPACT = IncidentService._meta.db_table
ALARM = Alarm._meta.db_table
INCIDENT = Incident._meta.db_table

END_SQL = f"""
    WITH {paths.PATH_IMPACT_CTE}
    UPDATE {IMPACT} impact SET ended_at = %(now)s
    WHERE impact.incident_id = %(incident)s AND impact.ended_at IS NULL
      AND NOT EXISTS (
          SELECT 1 FROM path_impact
          WHERE path_impact.service_id = impact.service_id
            AND path_impact.impact = impact.impact
      )"""  # noqa: S608 - table names come from model metadata; every value is a parameter

START_SQL = f"""
    WITH {paths.PATH_IMPACT_CTE}
    INSERT INTO {IMPACT} (incident_id, service_id, impact, started_at)
    SELECT %(incident)s, path_impact.service_id, path_impact.impact, %(now)s
    FROM path_impact
    WHERE NOT EXISTS (
        SELECT 1 FROM {IMPACT} impact
        WHERE impact.incident_id = %(incident)s AND impact.ended_at IS NULL
          AND impact.service_id = path_impact.service_id
    )"""  # noqa: S608

FIGURES_SQL = f"""
    WITH impacted(service_id) AS (
        SELECT service_id FROM {IMPACT}
        WHERE incident_id = %(incident)s AND ended_at IS NULL
    ),
    {paths.IMPACT_FIGURES_SQL},
    (SELECT COUNT(*) FROM {IMPACT}
      WHERE incident_id = %(incident)s AND ended_at IS NULL AND impact = 'down'),
    (SELECT COUNT(*) FROM {IMPACT}
      WHERE incident_id = %(incident)s AND ended_at IS NULL AND impact = 'degraded')
"""  # noqa: S608


def failed_resource_ids(incident_id: int) -> list[int]:
    """The resources the incident's active alarms name: what is failed while it lives."""
    return sorted(
        set(
            Alarm.objects.filter(incident_id=incident_id, resource__isnull=False)
            .exclude(state=AlarmState.CLEARED)
            .values_list("resource_id", flat=True)
        )
    )


def _refresh_without_paths(incident_id: int, failed: list[int], now) -> None:
    """The embedded demo (SQLite): every dependent service counts as down."""
    now_down = set(services_depending_on(failed).values_list("pk", flat=True)) if failed else set()
    open_rows = IncidentService.objects.filter(incident_id=incident_id, ended_at__isnull=True)
    open_rows.exclude(service_id__in=now_down, impact=ServiceImpact.DOWN).update(ended_at=now)
    have = set(open_rows.values_list("service_id", flat=True))
    IncidentService.objects.bulk_create(
        [
            IncidentService(
                incident_id=incident_id,
                service_id=service_id,
                impact=ServiceImpact.DOWN,
                started_at=now,
            )
            for service_id in sorted(now_down - have)
        ]
    )
    rows = IncidentService.objects.filter(incident_id=incident_id, ended_at__isnull=True)
    products = {
        row.service.product_id: row.service.product
        for row in rows.select_related("service__product__customer")
        if row.service.product_id
    }
    segments: dict[str, set] = {}
    for product in products.values():
        segments.setdefault(product.customer.segment, set()).add(product.customer_id)
    Incident.objects.filter(pk=incident_id).update(
        services_down=rows.filter(impact=ServiceImpact.DOWN).count(),
        services_degraded=rows.filter(impact=ServiceImpact.DEGRADED).count(),
        products_count=len(products),
        accounts_count=len({p.billing_account_id for p in products.values()}),
        customers_count=len({p.customer_id for p in products.values()}),
        customers_by_segment={segment: len(ids) for segment, ids in segments.items()},
        impact_updated_at=now,
    )


def incident_impact_refresh(incident_id: int) -> None:
    """Recompute the incident's impact from its active alarms (nothing once it is no longer
    open: every impact row ends). Idempotent; a few statements whatever the size."""
    now = clock.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().filter(pk=incident_id).first()
        if incident is None:
            return
        failed = failed_resource_ids(incident_id) if incident.state in OPEN_INCIDENT_STATES else []
        if not paths.is_supported():
            _refresh_without_paths(incident_id, failed, now)
            return
        params = {"failed": failed, "incident": incident_id, "now": now}
        with connection.cursor() as cursor, paths.bulk_plan(cursor):
            cursor.execute(END_SQL, params)
            cursor.execute(START_SQL, params)
            cursor.execute(FIGURES_SQL, params)
            products, accounts, customers, segments, revenue, currency, down, degraded = (
                cursor.fetchone()
            )
        if isinstance(segments, str):
            import json

            segments = json.loads(segments)
        incident.services_down = down
        incident.services_degraded = degraded
        incident.products_count = products
        incident.accounts_count = accounts
        incident.customers_count = customers
        incident.customers_by_segment = segments or {}
        incident.revenue_at_risk = Decimal(revenue or 0).quantize(Decimal("0.0001"))
        if currency:
            incident.currency = currency
        incident.impact_updated_at = now
        incident.save(
            update_fields=[
                "services_down",
                "services_degraded",
                "products_count",
                "accounts_count",
                "customers_count",
                "customers_by_segment",
                "revenue_at_risk",
                "currency",
                "impact_updated_at",
            ]
        )


# Empty figures for the incidents without impact; those that already show them (most of a
# storm's, batch after batch) are not written again: their figures hold as of their stamp.
UNAFFECTED_SQL = f"""
    UPDATE {INCIDENT} SET
        services_down = 0, services_degraded = 0, products_count = 0, accounts_count = 0,
        customers_count = 0, customers_by_segment = '{{}}', revenue_at_risk = 0,
        impact_updated_at = %s
    WHERE id = ANY(%s::bigint[])
      AND (impact_updated_at IS NULL OR services_down <> 0 OR services_degraded <> 0
           OR products_count <> 0 OR accounts_count <> 0 OR customers_count <> 0
           OR customers_by_segment <> '{{}}' OR revenue_at_risk <> 0)
"""  # noqa: S608

LOCK_SQL = f"""
    SELECT id FROM {INCIDENT} WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE
"""  # noqa: S608

# Which of the incidents can have an impact: an open one whose active alarms name a resource on
# a service path, or one with impact rows still open (they must end). The paths are probed once
# per alarmed resource, not once per alarm (a storm repeats faults on the same elements).
AFFECTING_SQL = f"""
    SELECT DISTINCT alarmed.incident_id
    FROM (
        SELECT DISTINCT alarm.incident_id, alarm.resource_id
        FROM {ALARM} alarm JOIN {INCIDENT} incident ON incident.id = alarm.incident_id
        WHERE alarm.incident_id = ANY(%(ids)s::bigint[]) AND alarm.state <> %(cleared)s
          AND incident.state = ANY(%(open)s::text[])
    ) alarmed
    WHERE EXISTS (SELECT 1 FROM {paths.PATH} path WHERE path.resource_id = alarmed.resource_id)
    UNION
    SELECT DISTINCT incident_id FROM {IMPACT}
    WHERE incident_id = ANY(%(ids)s::bigint[]) AND ended_at IS NULL
"""  # noqa: S608


def incidents_impact_refresh(incident_ids) -> None:
    """`incident_impact_refresh` for many incidents (those correlation touched), with the same
    result: the incidents whose failed resources carry no service path and which have no open
    impact rows (most lone alarms) get their empty figures in one statement (written only where
    they were not empty already); the others are refreshed one by one."""
    ids = sorted({int(pk) for pk in incident_ids})
    if not ids:
        return
    if not paths.is_supported():
        for incident_id in ids:
            incident_impact_refresh(incident_id)
        return
    now = clock.now()
    with transaction.atomic(), bound_cursor() as cursor:
        cursor.execute(LOCK_SQL, [id_array(ids)])
        locked = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            AFFECTING_SQL,
            {
                "ids": id_array(locked),
                "open": list(OPEN_INCIDENT_STATES),
                "cleared": AlarmState.CLEARED,
            },
        )
        affecting = {row[0] for row in cursor.fetchall()}
        unaffected = [pk for pk in locked if pk not in affecting]
        cursor.execute(UNAFFECTED_SQL, [now, id_array(unaffected)])
    for incident_id in sorted(affecting):
        incident_impact_refresh(incident_id)


def open_incidents_impact_refresh() -> int:
    """Refresh every open incident's impact: after topology changes (a link added, a service
    re-homed: inventory rebuilds the paths, and cannot call up to assurance), on beat. Returns
    the incidents refreshed."""
    incident_ids = list(
        Incident.objects.filter(state__in=OPEN_INCIDENT_STATES).values_list("pk", flat=True)
    )
    incidents_impact_refresh(incident_ids)
    return len(incident_ids)

"""What assurance adds to other apps' pages (telco.panels): the open alarms affecting a
customer on the customer 360; the open alarms on a site and on a piece of equipment (and what
is inside it) on the NOC inventory pages; the open alarm count beside each region, site
and piece of equipment in their lists; and the link to the alarm dashboard on the inventory
page."""

from django.db.models import Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from assurance.choices import OPEN_INCIDENT_STATES, AlarmState
from assurance.models import Alarm, Incident
from assurance.selectors import alarm_list, open_alarms_for_customer
from inventory import selectors as inventory_selectors
from inventory.topology import resources_under
from telco.panels import Column, Panel, register, register_column

ALARMS_LISTED = 100
COUNT = "open_alarm_count"


def open_alarms() -> QuerySet[Alarm]:
    """Alarms not cleared, newest first, with their resource and impact."""
    return alarm_list().exclude(state=AlarmState.CLEARED)


def open_alarm_count(**where) -> Coalesce:
    """A correlated `COUNT(*)` of the open alarms matching `where` (on OuterRef), as an
    annotation: one subquery, whatever the number of rows."""
    counted = (
        Alarm.objects.exclude(state=AlarmState.CLEARED)
        .filter(**where)
        .order_by()
        .values(group=Value(1))
        .annotate(total=Count("pk"))
        .values("total")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def customer_alarms_context(request, customer) -> dict:
    """Each alarm names, as `customer_services`, which of this customer's services it hits."""
    services = inventory_selectors.customer_services(customer.pk)
    alarms = open_alarms_for_customer(customer.pk).prefetch_related(
        Prefetch("affected_services", queryset=services, to_attr="customer_services")
    )
    return {"alarms": list(alarms)}


def site_alarms_context(request, site) -> dict:
    return {"alarms": list(open_alarms().filter(resource__site=site)[:ALARMS_LISTED])}


def equipment_alarms_context(request, resource) -> dict:
    """Alarms on the equipment and on everything inside it (cards, ports, slices)."""
    under = resources_under([resource.pk])
    return {"alarms": list(open_alarms().filter(resource__in=under)[:ALARMS_LISTED])}


def register_panels() -> None:
    """Called by `AssuranceConfig.ready()`."""
    register(
        "crm.customer",
        Panel(
            name="assurance.open_alarms",
            title="Open network alarms affecting this customer",
            template="assurance/panels/customer_alarms.html",
            context=customer_alarms_context,
            order=40,
        ),
    )
    register(
        "inventory.index",
        Panel(
            name="assurance.dashboard",
            title="Active alarms",
            template="assurance/panels/noc_dashboard_link.html",
            order=10,
        ),
    )
    for object_type, context in (
        ("inventory.site", site_alarms_context),
        ("inventory.equipment", equipment_alarms_context),
    ):
        register(
            object_type,
            Panel(
                name="assurance.open_alarms",
                title="Open alarms",
                template="assurance/panels/resource_alarms.html",
                context=context,
                order=10,
            ),
        )
    for object_type, title, where in (
        ("inventory.region", "Open alarms", "resource__site__region"),
        ("inventory.site", "Open alarms", "resource__site"),
        ("inventory.equipment", "Alarms", "resource"),
    ):
        register_column(
            object_type,
            Column(
                name="assurance.open_alarm_count",
                title=title,
                template="assurance/panels/open_alarm_count_cell.html",
                annotate=lambda queryset, where=where: queryset.annotate(
                    **{COUNT: open_alarm_count(**{where: OuterRef("pk")})}
                ),
                css_class="num",
            ),
        )
    # The link to the SLA report on the customer 360, for customers with an SLA product.
    from assurance.sla_views import customer_sla_link_context

    register(
        "crm.customer",
        Panel(
            name="assurance.sla_report",
            title="Service level agreements",
            template="assurance/panels/customer_sla_link.html",
            context=customer_sla_link_context,
            order=45,
        ),
    )
    register_incident_panels()


# --- network incidents on the customer 360 and its product rows (assurance.notices) ----------


def customer_incident_rows(customer_id: int) -> list[dict]:
    """The confirmed incidents affecting the customer now, each with its state, ETA, and the
    customer's products it hits (one query)."""
    incidents = {}
    rows = (
        Incident.objects.filter(
            state__in=OPEN_INCIDENT_STATES,
            confirmed_at__isnull=False,
            impacts__ended_at__isnull=True,
            impacts__service__product__customer_id=customer_id,
        )
        .values(
            "pk",
            "name",
            "state",
            "expected_restore_time",
            "first_alarm_time",
            "impacts__impact",
            "impacts__service__product_id",
            "impacts__service__product__name",
        )
        .order_by("pk")
    )
    for row in rows:
        incident = incidents.setdefault(
            row["pk"],
            {
                "id": row["pk"],
                "name": row["name"],
                "state": row["state"],
                "eta": row["expected_restore_time"],
                "since": row["first_alarm_time"],
                "products": {},
            },
        )
        product = incident["products"].setdefault(
            row["impacts__service__product_id"],
            {
                "id": row["impacts__service__product_id"],
                "name": row["impacts__service__product__name"],
            },
        )
        product["impact"] = (
            "down"
            if row["impacts__impact"] == "down"
            else product.get("impact", row["impacts__impact"])
        )
    for incident in incidents.values():
        incident["products"] = list(incident["products"].values())
    return list(incidents.values())


def customer_incidents_context(request, customer) -> dict:
    return {"incidents": incident_rows_for_request(request, customer.pk)}


def incident_rows_for_request(request, customer_id: int) -> list[dict]:
    """`customer_incident_rows`, read once per request (the product rows reuse it)."""
    cache = getattr(request, "assurance_incidents", None) if request is not None else None
    if cache is None or cache[0] != customer_id:
        cache = (customer_id, customer_incident_rows(customer_id))
        if request is not None:
            request.assurance_incidents = cache
    return cache[1]


def product_incidents_context(request, product) -> dict:
    rows = incident_rows_for_request(request, product.customer_id)
    return {
        "incidents": [
            {**incident, "impact": item["impact"]}
            for incident in rows
            for item in incident["products"]
            if item["id"] == product.pk
        ]
    }


def register_incident_panels() -> None:
    """The incidents on the 360's live block (refreshed, so state and ETA follow the NOC), the
    badge on each product row, and the lookup that links a new ticket to them."""
    from assurance.notices import ticket_related_incidents
    from crm.choices import TICKET_RELATED_LOOKUP
    from telco.panels import register_lookup

    register(
        "crm.customer.live",
        Panel(
            name="assurance.incidents",
            title="Network incidents affecting this customer",
            template="assurance/panels/customer_incidents.html",
            context=customer_incidents_context,
            order=5,
        ),
    )
    register(
        "inventory.product",
        Panel(
            name="assurance.product_incidents",
            title="Network incident",
            template="assurance/panels/product_incidents.html",
            context=product_incidents_context,
            order=5,
        ),
    )
    register_lookup(TICKET_RELATED_LOOKUP, ticket_related_incidents)

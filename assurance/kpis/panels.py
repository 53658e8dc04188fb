"""The KPI charts on the agent 360 (crm.customer) and the NOC service page (inventory.service),
the `labnet kpis` subcommand, and the KPI tasks: registered from `AssuranceConfig.ready()`."""

from assurance.kpis.generator import labnet_kpis
from assurance.kpis.selectors import service_path_kpis
from inventory import selectors as inventory_selectors
from telco.panels import Panel, register, register_lookup


def customer_kpis_context(request, customer) -> dict:
    """One of the customer's services at a time (`?kpi_service=`, else the first)."""
    services = list(inventory_selectors.customer_services(customer.pk))
    wanted = request.GET.get("kpi_service", "") if request is not None else ""
    chosen = next((s for s in services if str(s.pk) == wanted), services[0] if services else None)
    charts = service_path_kpis(chosen.pk) if chosen else []
    return {"kpi_services": services, "kpi_service": chosen, "kpi_charts": charts}


def service_kpis_context(request, service) -> dict:
    return {"kpi_services": [], "kpi_service": service, "kpi_charts": service_path_kpis(service.pk)}


def register_kpis() -> None:
    """Called by `AssuranceConfig.ready()`."""
    import assurance.kpis.tasks  # noqa: F401 - the beat tasks register with Celery

    for object_type, context, order in (
        ("crm.customer", customer_kpis_context, 45),
        ("inventory.service", service_kpis_context, 20),
    ):
        register(
            object_type,
            Panel(
                name="assurance.kpi_charts",
                title="KPIs along the service path",
                template="assurance/panels/kpi_charts.html",
                context=context,
                order=order,
            ),
        )
    register_lookup("labnet.commands", labnet_kpis)

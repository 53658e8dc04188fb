"""What an order item's activation does, per technology: the steps of its plan and what its
reserve step takes from the inventory.

An add item's technology is chosen by the resource kinds its specification's resource-facing
services bind (`TECHNOLOGIES`, first match wins): a gNB makes it 5G, an ONT fibre (FTTH). A new
technology is one more `Technology` row: its steps and its reservation. Items of a
specification no technology claims only record the activation. Modify and delete items change
every element the service holds (`change_plan`), whatever the technology.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Model

from catalog.choices import ResourceKind
from inventory import services as inventory_services
from inventory.choices import ServiceState
from orders.services import enterprise
from orders.services.common import (
    ACTIVATE,
    ADJUST,
    CONFIGURE,
    DEACTIVATE,
    ELEMENT_OPERATIONS,
    MODIFY,
    RESERVE,
    VERIFY,
    WORKFLOW_ACTOR,
)

# Resource kind -> the resource-facing service holding it (None: the item's own service).
Holders = dict[str, Model | None]

# The name of a change's last step, by the state the change leaves the service in.
FINAL_STEP_NAMES = {
    ServiceState.ACTIVE: "Record the change",
    ServiceState.INACTIVE: "Suspend service",
    ServiceState.TERMINATED: "Terminate service",
}


@dataclass(frozen=True)
class PlannedStep:
    """One step of a plan, before it is written as an ActivationStep."""

    operation: str
    name: str
    resource_kind: str = ""
    service: Model | None = None  # the resource-facing service it builds (None: the item's)
    resource: Model | None = None  # the element, once known


@dataclass(frozen=True)
class Technology:
    """How one technology's add items are planned and what their reserve step holds."""

    name: str
    # Present among the kinds the specification binds, it selects this technology.
    selected_by: str
    steps: Callable[[Holders], list[PlannedStep]]
    # (service, holders, characteristics, customer) -> the bindings made, in the step's
    # transaction; the configure step of each bound element is named after it. The step
    # rebuilds the service's paths once afterwards (pool members are bound after these).
    reserve: Callable[[Model, Holders, dict, Model | None], list]
    # What a configure step calls its element ("OLT", "BNG"); the element's name follows.
    element_labels: dict[str, str] = field(default_factory=dict)

    def configure_step_name(self, kind: str, element_name: str) -> str:
        return " ".join(filter(None, ["Configure", self.element_labels.get(kind), element_name]))


def _bandwidth(characteristics: dict) -> int:
    return inventory_services.bandwidth_mbps(characteristics.get("bandwidth"))


# ---------------------------------------------------------------------------------------------
# 5G: gNB capacity and a slice on it
# ---------------------------------------------------------------------------------------------


def five_g_steps(holders: Holders) -> list[PlannedStep]:
    """Reserve gNB capacity and a slice, configure both, verify."""
    return [
        PlannedStep(RESERVE, "Design, reserve gNB capacity, allocate slice"),
        *(
            PlannedStep(CONFIGURE, f"Configure {kind}", kind, holders.get(kind))
            for kind in (ResourceKind.GNB, ResourceKind.SLICE)
        ),
        PlannedStep(VERIFY, "Verify configuration"),
    ]


def five_g_reserve(service, holders: Holders, characteristics: dict, customer) -> list:
    return inventory_services.capacity_reserve(
        service=service,
        bandwidth=_bandwidth(characteristics),
        customer=customer,
        by=WORKFLOW_ACTOR,
        gnb_holder=holders.get(ResourceKind.GNB),
        slice_holder=holders.get(ResourceKind.SLICE),
        rebuild_paths=False,
    )


# ---------------------------------------------------------------------------------------------
# Fibre (FTTH): a PON port and an ONT on an OLT, a VLAN and an address on the BNG
# ---------------------------------------------------------------------------------------------


def ftth_steps(holders: Holders) -> list[PlannedStep]:
    """Reserve the access, configure the OLT (ONT, service port, bandwidth profile), then the
    BNG (VLAN, address), verify."""
    return [
        PlannedStep(RESERVE, "Reserve access port, ONT, VLAN and IP"),
        PlannedStep(CONFIGURE, "Configure OLT", ResourceKind.OLT, holders.get(ResourceKind.OLT)),
        PlannedStep(
            CONFIGURE, "Configure BNG", ResourceKind.ROUTER, holders.get(ResourceKind.ROUTER)
        ),
        PlannedStep(VERIFY, "Verify configuration"),
    ]


def ftth_reserve(service, holders: Holders, characteristics: dict, customer) -> list:
    return inventory_services.ftth_reserve(
        service=service,
        bandwidth=_bandwidth(characteristics),
        customer=customer,
        ont_serial=characteristics.get("ontSerial", ""),
        access_holder=holders.get(ResourceKind.ONT),
        vlan_holder=holders.get(ResourceKind.VLAN),
        ip_holder=holders.get(ResourceKind.IP_ADDRESS),
        bng_holder=holders.get(ResourceKind.ROUTER),
        by=WORKFLOW_ACTOR,
        rebuild_paths=False,
    )


# ---------------------------------------------------------------------------------------------
# Enterprise access (VPN, Ethernet): per site a PE port, a VLAN and bandwidth to the core
# ---------------------------------------------------------------------------------------------


def enterprise_plan(site_services: list[Model], *, reserve: bool = True) -> list[PlannedStep]:
    """Reserve every site's access (and a VPN's route target), configure each site's PE (the
    VRF with its route target, the subinterface with its VLAN, the policer), verify."""
    return [PlannedStep(*step) for step in enterprise.site_steps(site_services, reserve=reserve)]


def enterprise_reserve(service, holders: Holders, characteristics: dict, customer) -> list:
    # A VPN's sites bind a route target (`enterprise.is_vpn`), so their holders name the kind.
    return enterprise.enterprise_reserve(
        service, characteristics, is_vpn=ResourceKind.ROUTE_TARGET in holders
    )


TECHNOLOGIES = (
    Technology("5G", ResourceKind.GNB, five_g_steps, five_g_reserve),
    Technology(
        "FTTH",
        ResourceKind.ONT,
        ftth_steps,
        ftth_reserve,
        {ResourceKind.OLT: "OLT", ResourceKind.ROUTER: "BNG"},
    ),
    # After fibre, whose PON port is a port too: its ONT claims it first.
    Technology(
        "Enterprise access",
        ResourceKind.PORT,
        lambda holders: [],  # per site: `enterprise_plan`, once the sites' services exist
        enterprise_reserve,
        {ResourceKind.ROUTER: "PE"},
    ),
)


def technology_for(holders: Holders) -> Technology | None:
    """The technology of a specification binding these kinds (None: nothing to build)."""
    return next((each for each in TECHNOLOGIES if each.selected_by in holders), None)


def add_plan(holders: Holders) -> list[PlannedStep]:
    """The steps of an add item: its technology's, then the activation."""
    technology = technology_for(holders)
    steps = technology.steps(holders) if technology is not None else []
    return [*steps, PlannedStep(ACTIVATE, "Activate service")]


def resource_holders(service: Model, *, children: list[Model] | None = None) -> Holders:
    """Which service holds each kind of resource the catalog names for `service`: the
    resource-facing child whose specification lists it (the first), else the service itself.
    `children`: its resource-facing services when the caller read them (specifications and
    their resource specifications prefetched)."""
    if children is None:
        children = list(
            service.children.select_related("service_specification")
            .prefetch_related("service_specification__resource_specifications")
            .order_by("pk")
        )
    holders: Holders = {}
    for child in children:
        for resource_spec in child.service_specification.resource_specifications.all():
            holders.setdefault(resource_spec.resource_kind, child)
    if not children:
        for resource_spec in service.service_specification.resource_specifications.all():
            holders.setdefault(resource_spec.resource_kind, None)
    return holders


def change_plan(
    *,
    service: Model,
    bindings: list,
    target_state: str,
    characteristics: dict,
    added_sites: list[Model] = (),
) -> list[PlannedStep]:
    """A modify/delete item: each element the service is configured on is changed (or the
    configuration removed), gNB capacity (or an enterprise service's port and link bandwidth)
    follows the bandwidth, sites `added_sites` are reserved and configured; verify, record."""
    rfs = {b.service_id: (b.service if b.service_id != service.pk else None) for b in bindings}
    elements = [b for b in bindings if inventory_services.holds_element_config(b, service)]

    def element_steps(operation: str, verb: str) -> list[PlannedStep]:
        return [
            PlannedStep(
                operation,
                f"{verb} {b.resource.name}",
                b.resource.resource_kind,
                rfs[b.service_id],
                b.resource,
            )
            for b in elements
        ]

    plan = []
    if target_state == ServiceState.TERMINATED:
        plan.extend(element_steps(DEACTIVATE, "Deactivate"))
    else:
        old = inventory_services.bandwidth_mbps(service.characteristics.get("bandwidth"))
        new = inventory_services.bandwidth_mbps(characteristics.get("bandwidth"))
        gnb = next((b for b in bindings if b.resource.resource_kind == ResourceKind.GNB), None)
        if added_sites:
            plan.append(enterprise_plan(added_sites)[0])  # reserve them first: all or none
        if (
            gnb is None
            and old != new
            and enterprise.needs_site_access([service.service_specification])
        ):
            plan.append(PlannedStep(*enterprise.adjust_step(new)))
        if gnb is not None and old != new:
            plan.append(
                PlannedStep(
                    ADJUST,
                    f"Adjust capacity on {gnb.resource.name} to {new} Mbps",
                    ResourceKind.GNB,
                    rfs[gnb.service_id],
                    gnb.resource,
                )
            )
        plan.extend(element_steps(MODIFY, "Modify"))
        if added_sites:  # configured beside the sites already there (verify comes next)
            plan.extend(enterprise_plan(added_sites, reserve=False)[:-1])
    if any(step.operation in ELEMENT_OPERATIONS for step in plan):
        plan.append(PlannedStep(VERIFY, "Verify configuration"))
    plan.append(PlannedStep(ACTIVATE, FINAL_STEP_NAMES[target_state]))
    return plan

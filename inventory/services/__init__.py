"""Every meaningful write of the inventory, one module per sub-domain:

- `product_lifecycle`: the products a customer holds, from created to terminated;
- `service_lifecycle`: customer- and resource-facing services, and what ending them gives back;
- `capacity`: bandwidth reserved on a gNB and the slice on it;
- `feasibility`: enterprise access (a PE port, link bandwidth to the core) checked per site;
- `site_access`: what was checked held from an order's capture, then reserved (port, links,
  VLAN, address), adjusted and given back;
- `qualification`: TMF645 checks and queries of those sites, recorded with the reasons;
- `fibre`: a fibre line's PON port and ONT on an OLT, its VLAN and address on the BNG;
- `element_config`: what a network element should hold for a service;
- `element_drift`: what the elements report holding for a service, beside that;
- `pools`: logical resources (IP addresses, VLANs, MSISDNs, SIMs, slices) allocated at most once;
- `physical`: equipment, cards, ports, ducts, cables and links;
- `resources`: resources registered one by one and their states;
- `history`: the state history rows products and services share.

The entry points are imported here, so callers write `from inventory import services` and call
`services.capacity_reserve(...)` without knowing which module holds it.
"""

from inventory.paths import service_paths_rebuild
from inventory.services.capacity import (
    bandwidth_mbps,
    capacity_adjust,
    capacity_can_adjust,
    capacity_is_feasible,
    capacity_reserve,
    held_bindings,
)
from inventory.services.element_config import (
    element_config_expected,
    service_bindings_for_config,
)
from inventory.services.element_drift import (
    ElementConfig,
    config_differences,
    configured_bindings,
    holds_element_config,
    service_element_configs,
)
from inventory.services.feasibility import (
    NotFeasible,
    SiteDemand,
    edge_routers,
    feasibility_check,
)
from inventory.services.fibre import (
    PON_PORT_TYPE,
    FibreNotFeasible,
    ftth_is_feasible,
    ftth_reserve,
)
from inventory.services.physical import (
    cable_create,
    card_create,
    devices_of,
    duct_create,
    equipment_create,
    link_create,
    link_problems,
    part_create,
    part_problems,
    port_create,
)
from inventory.services.pools import (
    PoolExhausted,
    ip_prefix_create,
    logical_allocate,
    logical_release,
    msisdn_range_create,
    route_target_pool_create,
    sim_stock_create,
    slice_pool_create,
    vlan_pool_create,
)
from inventory.services.product_lifecycle import (
    product_create,
    product_mark_pending_active,
    product_mark_pending_terminate,
    product_modify,
    product_set_status,
    product_start_billing,
    product_terminate,
    product_termination_abandon,
    products_activate_pending,
)
from inventory.services.qualification import (
    PlaceRequest,
    QualificationItemRequest,
    service_qualification_check,
    site_demands,
)
from inventory.services.reconciliation import (
    ExpectedOnElement,
    element_expected_configs,
    elements_holding_services,
    product_id_bounds,
    products_with_service_state,
    services_by_reference,
)
from inventory.services.resources import resource_create, resource_update_states
from inventory.services.service_lifecycle import (
    service_create,
    service_modify,
    services_activate,
    services_release,
    services_set_state,
    services_terminate,
)
from inventory.services.site_access import (
    access_adjust,
    access_can_adjust,
    access_hold,
    access_reserve,
    holds_release,
)

__all__ = [
    "ExpectedOnElement",
    "element_expected_configs",
    "elements_holding_services",
    "product_id_bounds",
    "products_with_service_state",
    "services_by_reference",
    "product_start_billing",
    "PON_PORT_TYPE",
    "FibreNotFeasible",
    "element_config_expected",
    "service_bindings_for_config",
    "service_paths_rebuild",
    "ElementConfig",
    "config_differences",
    "configured_bindings",
    "holds_element_config",
    "service_element_configs",
    "ftth_is_feasible",
    "ftth_reserve",
    "NotFeasible",
    "PlaceRequest",
    "PoolExhausted",
    "QualificationItemRequest",
    "SiteDemand",
    "access_adjust",
    "access_can_adjust",
    "access_reserve",
    "access_hold",
    "holds_release",
    "bandwidth_mbps",
    "cable_create",
    "capacity_adjust",
    "capacity_can_adjust",
    "capacity_is_feasible",
    "capacity_reserve",
    "card_create",
    "devices_of",
    "duct_create",
    "edge_routers",
    "equipment_create",
    "feasibility_check",
    "held_bindings",
    "ip_prefix_create",
    "link_create",
    "link_problems",
    "logical_allocate",
    "logical_release",
    "msisdn_range_create",
    "part_create",
    "part_problems",
    "port_create",
    "product_create",
    "product_mark_pending_active",
    "product_mark_pending_terminate",
    "product_modify",
    "product_set_status",
    "product_terminate",
    "product_termination_abandon",
    "products_activate_pending",
    "resource_create",
    "resource_update_states",
    "route_target_pool_create",
    "service_create",
    "service_modify",
    "services_activate",
    "services_release",
    "services_set_state",
    "service_qualification_check",
    "services_terminate",
    "sim_stock_create",
    "site_demands",
    "slice_pool_create",
    "vlan_pool_create",
]

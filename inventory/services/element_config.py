"""What a network element should hold for a service: the one answer the activation workflow
sends to the element's driver and the NOC compares with what the element reports."""

import ipaddress

from catalog.choices import ResourceKind
from inventory import selectors
from inventory.choices import BindingState, ServiceState
from inventory.models import Resource, Service, ServiceResource
from inventory.services.fibre import PON_PORT_TYPE

# The keys taken from bound resources that each kind of element is configured with (kinds not
# listed get them all). The OLT's service port carries the VLAN toward the BNG.
ELEMENT_KEYS = {
    ResourceKind.OLT: {"ponPort", "ontSerial", "ontId", "vlan"},
    ResourceKind.ROUTER: {
        "vlan",
        "ipAddress",
        "port",
        "vrf",
        "routeDistinguisher",
        "routeTarget",
    },
    ResourceKind.GNB: set(),
    ResourceKind.SLICE: set(),
}


PORT_KEYS = ("port", "ponPort")


def _device_of(resource: Resource) -> int | None:
    """The element a port (on a card or directly) or a pool member's pool hangs from."""
    parent = resource.parent
    while parent is not None and parent.resource_kind in (
        ResourceKind.CARD,
        ResourceKind.VLAN_POOL,
        ResourceKind.IP_PREFIX,
    ):
        parent = parent.parent
    return parent.pk if parent is not None else None


def _resource_values(resource: Resource) -> dict:
    """What one bound resource contributes to an element's configuration."""
    kind = resource.resource_kind
    if kind == ResourceKind.PORT:
        is_pon = resource.characteristics.get("portType") == PON_PORT_TYPE
        return {"ponPort" if is_pon else "port": resource.name}
    if kind == ResourceKind.ONT:
        return {"ontSerial": resource.value, "ontId": int(resource.position)}
    if kind == ResourceKind.VLAN:
        return {"vlan": int(resource.value)}
    if kind == ResourceKind.IP_ADDRESS:
        prefix = resource.parent.value if resource.parent is not None else ""
        length = ipaddress.ip_network(prefix).prefixlen if prefix else 32
        return {"ipAddress": f"{resource.value}/{length}"}
    if kind == ResourceKind.ROUTE_TARGET:
        return {"routeTarget": resource.value}
    return {}


def element_config_expected(
    service: Service,
    *,
    resource: Resource,
    characteristics: dict | None = None,
    state: str | None = None,
    bindings: list[ServiceResource] | None = None,
) -> dict:
    """What element `resource` should hold for `service` (its customer-facing service, when
    given a resource-facing one): a flat dict of `service` (name), `adminState` ("locked" when
    the service is inactive, else "unlocked"), `bandwidth`, the characteristics, and what the
    service's bound resources give the element's kind (`ponPort`, `ontSerial`, `ontId`,
    `vlan`, `ipAddress` "100.64.3.7/24", `port`, `routeTarget`; see `ELEMENT_KEYS`).

    `characteristics` and `state` default to the service's own; the workflow passes the
    order's (the configuration being applied, or the previous one when undoing). A port on
    another element is left out; of two values for one key, the one on this element wins.
    `bindings`: the customer-facing service's, as `service_bindings_for_config` reads them
    (read here when not given).
    """
    root = service.parent if service.parent_id else service
    characteristics = root.characteristics if characteristics is None else characteristics
    state = state or root.state
    config = {
        "service": root.name,
        **characteristics,
        "adminState": "locked" if state == ServiceState.INACTIVE else "unlocked",
    }
    if characteristics.get("bandwidth"):
        config["bandwidth"] = characteristics["bandwidth"]
    if bindings is None:
        bindings = service_bindings_for_config(root)
    bindings = _this_site(bindings, root, resource)
    wanted = ELEMENT_KEYS.get(resource.resource_kind)
    values: dict = {}
    for binding in bindings:
        bound = binding.resource
        device = _device_of(bound)
        on_element = device is None or device == resource.pk
        for key, value in _resource_values(bound).items():
            if wanted is not None and key not in wanted:
                continue
            if key in PORT_KEYS and not on_element:
                continue  # another element's port (another site of a VPN)
            # A value on this element wins over one (of the same key) on another.
            if key not in values or (on_element and values[key][1] is False):
                values[key] = (value, on_element)
    config.update({key: value for key, (value, _) in values.items()})
    if "routeTarget" in config:
        # The VPN's VRF: one name and route distinguisher on every PE, from the VPN's id.
        asn = str(config["routeTarget"]).split(":")[0]
        config.setdefault("vrf", f"VPN-{root.pk}")
        config.setdefault("routeDistinguisher", f"{asn}:{root.pk}")
    return config


def service_bindings_for_config(service: Service) -> list[ServiceResource]:
    """What `element_config_expected` reads of a customer-facing service: the bindings of it
    and its resource-facing children (read once for all its elements by a caller that asks
    for several)."""
    return list(
        ServiceResource.objects.filter(service__in=selectors.service_tree_ids(service))
        .exclude(state=BindingState.RELEASED)
        .select_related("resource__parent__parent")
        # What `_device_of` and `_resource_values` read: decoding whole rows (timestamps,
        # three resources a binding) was most of the read's cost, on every activation.
        .only(
            "service_id",
            "resource__resource_kind",
            "resource__name",
            "resource__value",
            "resource__position",
            "resource__characteristics",
            "resource__parent__resource_kind",
            "resource__parent__value",
            "resource__parent__parent__resource_kind",
            "resource__parent__parent__parent_id",
        )
        .order_by("pk")
    )


def _this_site(bindings: list, root: Service, resource: Resource) -> list:
    """The holds that concern `resource`: a resource-facing service holding another element of
    the same kind (another site's PE of a VPN) configures that one, not this one."""
    elsewhere = {
        binding.service_id
        for binding in bindings
        if binding.service_id != root.pk
        and binding.resource.resource_kind == resource.resource_kind
        and binding.resource_id != resource.pk
    }
    return [binding for binding in bindings if binding.service_id not in elsewhere]

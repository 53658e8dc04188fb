from django.db import models

from catalog.choices import ResourceKind, ServiceCategory  # noqa: F401 (one definition, in catalog)


class ProductStatus(models.TextChoices):
    CREATED = "created"
    PENDING_ACTIVE = "pendingActive"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    PENDING_TERMINATE = "pendingTerminate"
    TERMINATED = "terminated"
    CANCELLED = "cancelled"
    ABORTED = "aborted"


PRODUCT_TRANSITIONS = {
    ProductStatus.CREATED: {ProductStatus.PENDING_ACTIVE, ProductStatus.CANCELLED},
    # Cancelled: the order was withdrawn before the network was configured (no charge ever).
    ProductStatus.PENDING_ACTIVE: {
        ProductStatus.ACTIVE,
        ProductStatus.ABORTED,
        ProductStatus.CANCELLED,
    },
    ProductStatus.ACTIVE: {ProductStatus.SUSPENDED, ProductStatus.PENDING_TERMINATE},
    ProductStatus.SUSPENDED: {ProductStatus.ACTIVE, ProductStatus.PENDING_TERMINATE},
    # A failed termination returns the product to where it was (active or suspended).
    ProductStatus.PENDING_TERMINATE: {
        ProductStatus.TERMINATED,
        ProductStatus.ACTIVE,
        ProductStatus.SUSPENDED,
    },
    ProductStatus.TERMINATED: set(),
    ProductStatus.CANCELLED: set(),
    ProductStatus.ABORTED: set(),
}


class ServiceState(models.TextChoices):
    FEASIBILITY_CHECKED = "feasibilityChecked"
    DESIGNED = "designed"
    RESERVED = "reserved"
    INACTIVE = "inactive"
    ACTIVE = "active"
    TERMINATED = "terminated"


SERVICE_TRANSITIONS = {
    ServiceState.FEASIBILITY_CHECKED: {ServiceState.DESIGNED, ServiceState.TERMINATED},
    ServiceState.DESIGNED: {ServiceState.RESERVED, ServiceState.TERMINATED},
    ServiceState.RESERVED: {ServiceState.ACTIVE, ServiceState.INACTIVE, ServiceState.TERMINATED},
    ServiceState.INACTIVE: {ServiceState.ACTIVE, ServiceState.TERMINATED},
    ServiceState.ACTIVE: {ServiceState.INACTIVE, ServiceState.TERMINATED},
    ServiceState.TERMINATED: set(),
}


class ResourceCategory(models.TextChoices):
    PHYSICAL = "physical"
    LOGICAL = "logical"


class LinkMedium(models.TextChoices):
    FIBRE = "fibre"
    COPPER = "copper"
    MICROWAVE = "microwave"


class ResourceStatus(models.TextChoices):
    STANDBY = "standby"
    ALARM = "alarm"
    AVAILABLE = "available"
    RESERVED = "reserved"
    UNKNOWN = "unknown"
    SUSPENDED = "suspended"


class AdministrativeState(models.TextChoices):
    LOCKED = "locked"
    UNLOCKED = "unlocked"
    SHUTDOWN = "shutdown"


class OperationalState(models.TextChoices):
    ENABLE = "enable"
    DISABLE = "disable"


class UsageState(models.TextChoices):
    IDLE = "idle"
    ACTIVE = "active"
    BUSY = "busy"


class BindingState(models.TextChoices):
    """A service's hold on a resource: capacity reserved, in use, or given back."""

    RESERVED = "reserved"
    ACTIVE = "active"
    RELEASED = "released"


# What each kind of resource is in TMF639 terms (`@type`); the category gives `@baseType`.
EQUIPMENT_KINDS = (
    ResourceKind.GNB,
    ResourceKind.ENB,
    ResourceKind.ROUTER,
    ResourceKind.SWITCH,
    ResourceKind.OLT,
    ResourceKind.CORE_FUNCTION,
    ResourceKind.ONT,
)
LINK_KINDS = {
    LinkMedium.FIBRE: ResourceKind.FIBRE_LINK,
    LinkMedium.COPPER: ResourceKind.COPPER_LINK,
    LinkMedium.MICROWAVE: ResourceKind.MICROWAVE_LINK,
}
# The pool each allocatable logical kind is drawn from.
POOL_KINDS = {
    ResourceKind.IP_ADDRESS: ResourceKind.IP_PREFIX,
    ResourceKind.VLAN: ResourceKind.VLAN_POOL,
    ResourceKind.MSISDN: ResourceKind.MSISDN_POOL,
    ResourceKind.SIM: ResourceKind.SIM_POOL,
    ResourceKind.SLICE: ResourceKind.SLICE_POOL,
    ResourceKind.ROUTE_TARGET: ResourceKind.ROUTE_TARGET_POOL,
}
TMF_TYPES = {
    **{kind: "Equipment" for kind in EQUIPMENT_KINDS},
    ResourceKind.CARD: "Card",
    ResourceKind.PORT: "Port",
    **{kind: "Link" for kind in LINK_KINDS.values()},
    ResourceKind.CABLE: "Cable",
    ResourceKind.DUCT: "Duct",
    ResourceKind.IP_PREFIX: "IpPrefix",
    ResourceKind.IP_ADDRESS: "IpAddress",
    ResourceKind.VLAN_POOL: "VlanPool",
    ResourceKind.VLAN: "Vlan",
    ResourceKind.MSISDN_POOL: "MsisdnPool",
    ResourceKind.MSISDN: "Msisdn",
    ResourceKind.SIM_POOL: "SimPool",
    ResourceKind.SIM: "Sim",
    ResourceKind.SLICE_POOL: "SlicePool",
    ResourceKind.SLICE: "NetworkSlice",
    ResourceKind.ROUTE_TARGET_POOL: "RouteTargetPool",
    ResourceKind.ROUTE_TARGET: "RouteTarget",
    # Generic: what a client registers as the base type (or with no @type), logical unless its
    # base type says physical.
    ResourceKind.OTHER: "Resource",
}
PHYSICAL_TYPES = {"Equipment", "Card", "Port", "Link", "Cable", "Duct"}
BASE_TYPES = {"PhysicalResource": "physical", "LogicalResource": "logical"}


class QualificationState(models.TextChoices):
    """TMF645 TaskStateType: where a qualification check stands (ours answer at once)."""

    ACCEPTED = "accepted"
    IN_PROGRESS = "inProgress"
    DONE = "done"
    TERMINATED_WITH_ERROR = "terminatedWithError"


class QualificationKind(models.TextChoices):
    """TMF645's two questions: can these services be delivered here (check), and what can be
    delivered here (query)."""

    CHECK = "check"
    QUERY = "query"


class QualificationResult(models.TextChoices):
    QUALIFIED = "qualified"
    UNQUALIFIED = "unqualified"

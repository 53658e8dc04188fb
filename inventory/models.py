"""What exists: the network's resources, the services built on them, the products customers hold."""

from django.db import models
from django.db.models import Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce

from catalog.choices import ResourceKind
from catalog.models import (
    ProductOffering,
    ResourceSpecification,
    ServiceSpecification,
)
from crm.models import BillingAccount, Customer
from inventory.choices import (
    POOL_KINDS,
    AdministrativeState,
    BindingState,
    LinkMedium,
    OperationalState,
    ProductStatus,
    QualificationKind,
    QualificationResult,
    QualificationState,
    ResourceCategory,
    ResourceStatus,
    ServiceCategory,
    ServiceState,
    UsageState,
)
from telco import clock
from telco.states import StateChange

# Kinds whose `value` identifies them across the whole network (per pool for the others).
GLOBALLY_UNIQUE_KINDS = [
    ResourceKind.IP_ADDRESS,
    ResourceKind.MSISDN,
    ResourceKind.SIM,
    ResourceKind.SLICE,
    ResourceKind.ROUTE_TARGET,
]
# Kinds allocated one member at a time from pools (an address, a VLAN, an MSISDN...).
POOL_MEMBER_KINDS = sorted(POOL_KINDS)


class Region(models.Model):
    """A geographic region of the network."""

    name = models.CharField(max_length=80, unique=True)

    def __str__(self):
        return self.name


class Site(models.Model):
    """A place that holds equipment: a cell site, an exchange, a data centre."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="sites")
    name = models.CharField(max_length=80, unique=True)
    address = models.CharField(max_length=200, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)

    def __str__(self):
        return self.name


class Resource(models.Model):
    """A network resource (TMF639): a device, a port, a slice. `parent` is what it lives on."""

    name = models.CharField(max_length=120, unique=True)
    resource_kind = models.CharField(max_length=20, choices=ResourceKind.choices)
    category = models.CharField(max_length=10, choices=ResourceCategory.choices)
    resource_specification = models.ForeignKey(
        ResourceSpecification, on_delete=models.PROTECT, null=True, blank=True
    )
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="resources"
    )
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    vendor = models.CharField(max_length=60, blank=True)
    model = models.CharField(max_length=60, blank=True)
    serial_number = models.CharField(max_length=60, blank=True)
    # Where it sits in its parent: a card's slot, a port's number ("0/1/3").
    position = models.CharField(max_length=20, blank=True)
    # A logical resource's identifier in its own notation: "10.0.0.5", "100" (a VLAN id),
    # "447700900001", an ICCID, "1-00a0f1" (S-NSSAI sst-sd), "10.1.0.0/24" (a prefix).
    value = models.CharField(max_length=64, blank=True)
    # Capacity in Mbit/s for devices and links; consumed by the services bound to it.
    capacity_mbps = models.PositiveIntegerField(default=0)
    resource_status = models.CharField(
        max_length=12, choices=ResourceStatus.choices, default=ResourceStatus.AVAILABLE
    )
    administrative_state = models.CharField(
        max_length=10, choices=AdministrativeState.choices, default=AdministrativeState.UNLOCKED
    )
    operational_state = models.CharField(
        max_length=10, choices=OperationalState.choices, default=OperationalState.ENABLE
    )
    usage_state = models.CharField(
        max_length=10, choices=UsageState.choices, default=UsageState.IDLE
    )
    characteristics = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    last_update = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [
            models.Index(fields=["resource_kind", "site"]),
            # Picking a free member of a pool: parent, kind, then status.
            models.Index(fields=["parent", "resource_kind", "resource_status"]),
            # The next free member of a pool in id order: a walk from the pool's first member
            # that stops at the first one free, where a sort of every member was.
            models.Index(
                fields=["parent", "resource_kind", "id"],
                condition=Q(resource_kind__in=POOL_MEMBER_KINDS),
                name="resource_pool_member_order",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "position"],
                condition=~Q(position=""),
                name="resource_position_once_in_parent",
            ),
            # A VLAN id once per pool (or device); an address, a number, a SIM, a slice once.
            models.UniqueConstraint(
                fields=["parent", "resource_kind", "value"],
                condition=~Q(value=""),
                name="resource_value_once_in_parent",
            ),
            models.UniqueConstraint(
                fields=["resource_kind", "value"],
                condition=Q(resource_kind__in=GLOBALLY_UNIQUE_KINDS) & ~Q(value=""),
                name="resource_value_unique",
            ),
            models.UniqueConstraint(
                KeyTextTransform("imsi", "characteristics"),
                condition=Q(resource_kind=ResourceKind.SIM),
                name="sim_imsi_unique",
            ),
        ]

    def __str__(self):
        return self.name


class Link(Resource):
    """A physical link between two ports, itself a resource (TMF639) run in a cable.

    Direction is the path toward the core: `a_end` is the downstream (access) side, `z_end` the
    upstream side. `a_device`/`z_device` are the equipment the two ports belong to, kept by the
    services that create links, so impact walks equipment to equipment without climbing parents.
    The cable it runs in is its `parent` (none for microwave).
    """

    a_end = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="links_a")
    z_end = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="links_z")
    a_device = models.ForeignKey(
        Resource, on_delete=models.PROTECT, null=True, blank=True, related_name="uplinks"
    )
    z_device = models.ForeignKey(
        Resource, on_delete=models.PROTECT, null=True, blank=True, related_name="downlinks"
    )
    medium = models.CharField(max_length=20, choices=LinkMedium.choices, default=LinkMedium.FIBRE)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(a_end=models.F("z_end")), name="link_two_ends")
        ]
        # The impact walks join on the device of each end (its end itself when not recorded).
        indexes = [
            models.Index(Coalesce("a_device", "a_end"), name="link_a_device_idx"),
            models.Index(Coalesce("z_device", "z_end"), name="link_z_device_idx"),
        ]

    def __str__(self):
        return self.name


class ProductInstance(models.Model):
    """A product a customer holds (TMF637). Billable from `start_date` while active."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="products")
    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, related_name="products"
    )
    product_offering = models.ForeignKey(ProductOffering, on_delete=models.PROTECT)
    name = models.CharField(max_length=160)
    status = models.CharField(
        max_length=20, choices=ProductStatus.choices, default=ProductStatus.CREATED
    )
    characteristics = models.JSONField(default=dict, blank=True)
    start_date = models.DateTimeField(null=True, blank=True)
    termination_date = models.DateTimeField(null=True, blank=True)
    # The product order that created it: an id reference, since orders sit above inventory.
    product_order_id = models.CharField(max_length=40, blank=True)
    product_order_item_id = models.CharField(max_length=20, blank=True)
    # A product ordered as part of a bundle: the bundle's own product.
    parent = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="bundled_products",
    )
    created_at = models.DateTimeField(default=clock.now)
    last_update = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [models.Index(fields=["billing_account", "status"])]

    def __str__(self):
        return self.name


class ProductStatusChange(StateChange):
    product = models.ForeignKey(ProductInstance, on_delete=models.CASCADE, related_name="history")


class Service(models.Model):
    """A service (TMF638): customer-facing for a product, or resource-facing beneath it."""

    name = models.CharField(max_length=160)
    category = models.CharField(max_length=3, choices=ServiceCategory.choices)
    service_specification = models.ForeignKey(ServiceSpecification, on_delete=models.PROTECT)
    product = models.ForeignKey(
        ProductInstance, on_delete=models.CASCADE, null=True, blank=True, related_name="services"
    )
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    state = models.CharField(
        max_length=20, choices=ServiceState.choices, default=ServiceState.FEASIBILITY_CHECKED
    )
    characteristics = models.JSONField(default=dict, blank=True)
    start_date = models.DateTimeField(null=True, blank=True)
    end_date = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    last_update = models.DateTimeField(default=clock.now)
    resources = models.ManyToManyField(Resource, through="ServiceResource", related_name="services")

    def __str__(self):
        return self.name


class ServiceStateChange(StateChange):
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="history")


class ServiceResource(models.Model):
    """A service's hold on a resource: the capacity it reserved and whether it still holds it."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="bindings")
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="bindings")
    capacity_mbps = models.PositiveIntegerField(default=0)
    # An exclusive resource (a slice, a SIM, a number) belongs to one service at a time.
    is_exclusive = models.BooleanField(default=False)
    state = models.CharField(
        max_length=10, choices=BindingState.choices, default=BindingState.RESERVED
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["resource"],
                condition=Q(is_exclusive=True) & ~Q(state="released"),
                name="exclusive_resource_held_once",
            )
        ]
        indexes = [models.Index(fields=["resource", "state"])]

    def __str__(self):
        return f"{self.service} on {self.resource}"


class CapacityHold(models.Model):
    """What a feasible order holds from its capture until its activation binds it: a port on a
    site's PE (exclusive) or bandwidth on a link of the PE's route to the core.

    Every feasibility check counts it as taken, but the check of the order that holds it; the
    order's reserve step turns it into bindings, and it is given back when the order ends or
    at `expires_at` (an order that never starts cannot keep capacity for ever). `order_ref`
    names the order ("productOrder:42"): inventory does not know the orders app.
    """

    order_ref = models.CharField(max_length=40)
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="holds")
    capacity_mbps = models.PositiveIntegerField(default=0)
    is_exclusive = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=clock.now)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["order_ref"], name="capacity_hold_order"),
            models.Index(fields=["resource", "expires_at"], name="capacity_hold_resource"),
        ]

    def __str__(self):
        return f"{self.order_ref} holds {self.capacity_mbps} Mbps on {self.resource_id}"


class ServicePath(models.Model):
    """One resource on one path of a customer-facing service, kept as NetBox keeps cable paths.

    A service stands on the resources it (or a service below it) holds and their parents; from
    each top device the uplinks toward the core may branch (a dual-homed site), so a service has
    one or more paths per `leg` (the top resource its holds hang from). Every resource of a path
    is a row: the holds and their parents, and along the route each link, its ports, the cable
    and duct it runs in and the devices it reaches. A failure of a set of resources takes the
    service down when every path of some leg meets it, and degrades it when only some paths
    do: one indexed read by resource (`inventory.paths`), no graph walk per question.
    Kept by `inventory.paths.service_paths_rebuild` when bindings or topology change.
    """

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="paths")
    leg = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="+")
    # Paths of this leg (the same on every row of the leg), numbered from 1.
    leg_paths = models.PositiveSmallIntegerField(default=1)
    path_number = models.PositiveSmallIntegerField(default=1)
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "leg", "path_number", "resource"], name="service_path_row_once"
            )
        ]
        # The impact read: every path row through the failed resources.
        indexes = [
            models.Index(
                fields=["resource", "service", "leg", "path_number", "leg_paths"],
                name="service_path_by_resource",
            )
        ]

    def __str__(self):
        return f"{self.service_id} leg {self.leg_id} path {self.path_number}: {self.resource_id}"


class ServiceQualification(models.Model):
    """A TMF645 check (can these services be delivered at these sites?) or query (what can be
    delivered at these sites, and how fast?). Answered at once."""

    kind = models.CharField(
        max_length=5, choices=QualificationKind.choices, default=QualificationKind.CHECK
    )
    # A query's searchCriteria as asked (TMF645 echoes it in the answer).
    search_criteria = models.JSONField(default=dict, blank=True)
    description = models.CharField(max_length=200, blank=True)
    external_id = models.CharField(max_length=60, blank=True)
    state = models.CharField(
        max_length=20, choices=QualificationState.choices, default=QualificationState.DONE
    )
    qualification_result = models.CharField(max_length=12, choices=QualificationResult.choices)
    check_date = models.DateTimeField(default=clock.now)
    effective_date = models.DateTimeField(null=True, blank=True)
    # Who asked: the parties named in the request, as TMF related parties (id, role, type).
    related_party = models.JSONField(default=list, blank=True)
    requested_by = models.CharField(max_length=150, blank=True)

    def __str__(self):
        return f"Qualification {self.pk}: {self.qualification_result}"


class ServiceQualificationItem(models.Model):
    """One service asked about: its sites (places), characteristics, and per site the reasons
    it cannot be delivered there."""

    qualification = models.ForeignKey(
        ServiceQualification, on_delete=models.CASCADE, related_name="items"
    )
    item_id = models.CharField(max_length=20)
    service_specification = models.ForeignKey(
        ServiceSpecification, on_delete=models.PROTECT, null=True, blank=True
    )
    # [{"id", "role", "name"}]: the GeographicSites (inventory sites) the service would serve.
    places = models.JSONField(default=list, blank=True)
    characteristics = models.JSONField(default=dict, blank=True)
    qualification_result = models.CharField(max_length=12, choices=QualificationResult.choices)
    state = models.CharField(
        max_length=20, choices=QualificationState.choices, default=QualificationState.DONE
    )
    # [{"code", "label", "siteId"}]: why a site cannot be served (empty when qualified).
    reasons = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["qualification", "item_id"], name="qualification_item_id_once"
            )
        ]

    def __str__(self):
        return f"{self.qualification_id}/{self.item_id}: {self.qualification_result}"

from django.db import models


class LifecycleStatus(models.TextChoices):
    IN_DESIGN = "inDesign"
    LAUNCHED = "launched"
    RETIRED = "retired"


LIFECYCLE_TRANSITIONS = {
    LifecycleStatus.IN_DESIGN: {LifecycleStatus.LAUNCHED, LifecycleStatus.RETIRED},
    LifecycleStatus.LAUNCHED: {LifecycleStatus.RETIRED},
    LifecycleStatus.RETIRED: set(),
}


class ValueType(models.TextChoices):
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"


class PriceType(models.TextChoices):
    ONE_TIME = "oneTime"
    RECURRING = "recurring"
    USAGE = "usage"
    # Reduces the offering's recurring charge(s): by `percentage`, or by a fixed `amount`.
    DISCOUNT = "discount"


# A recurring price in one of these units of measure is charged per unit the product holds:
# the items of the product characteristic named here (a comma-separated list, as the order
# recorded it: an Enterprise VPN's "Monthly fee per site" counts its `sites`).
COUNTED_UNITS = {"site": "sites"}


class RecurringPeriod(models.TextChoices):
    MONTH = "month"
    YEAR = "year"


class ServiceCategory(models.TextChoices):
    """Customer-facing or resource-facing: a specification's category and its services'."""

    CUSTOMER_FACING = "CFS", "Customer-facing"
    RESOURCE_FACING = "RFS", "Resource-facing"


class MarketSegment(models.TextChoices):
    """Who an offering may be sold to; the same values as crm's customer Segment."""

    CONSUMER = "consumer"
    SMALL_BUSINESS = "smallBusiness"
    ENTERPRISE = "enterprise"


class ResourceKind(models.TextChoices):
    """What a resource specification describes, which also chooses the network driver."""

    GNB = "gnb", "gNB cell site"
    SLICE = "slice", "Network slice"
    ROUTER = "router", "Router"
    OLT = "olt", "OLT"
    PORT = "port", "Port"
    FIBRE_LINK = "fibreLink", "Fibre link"
    IP_ADDRESS = "ipAddress", "IP address"
    VLAN = "vlan", "VLAN"
    # Customer premises equipment: the optical network terminal at the end of a fibre line.
    ONT = "ont", "ONT"
    # Equipment roles, the parts of equipment, and the outside plant links run in.
    SWITCH = "switch", "Switch"
    ENB = "enb", "eNB cell site"
    CORE_FUNCTION = "coreFunction", "Core network function"
    CARD = "card", "Card"
    COPPER_LINK = "copperLink", "Copper link"
    MICROWAVE_LINK = "microwaveLink", "Microwave link"
    CABLE = "cable", "Cable"
    DUCT = "duct", "Duct"
    # Logical resources allocated from pools, and the pools themselves.
    IP_PREFIX = "ipPrefix", "IP prefix"
    VLAN_POOL = "vlanPool", "VLAN pool"
    MSISDN = "msisdn", "MSISDN"
    MSISDN_POOL = "msisdnPool", "MSISDN range"
    SIM = "sim", "SIM card"
    SIM_POOL = "simPool", "SIM stock"
    SLICE_POOL = "slicePool", "Slice pool"
    ROUTE_TARGET = "routeTarget", "VPN route target"
    ROUTE_TARGET_POOL = "routeTargetPool", "Route target pool"
    # A resource registered as TMF639's base `Resource`, of no kind modelled above.
    OTHER = "other", "Other resource"

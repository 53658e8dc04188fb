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


class RecurringPeriod(models.TextChoices):
    MONTH = "month"


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

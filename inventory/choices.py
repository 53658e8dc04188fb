from django.db import models


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
    ProductStatus.PENDING_TERMINATE: {ProductStatus.TERMINATED, ProductStatus.ACTIVE},
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


class ServiceCategory(models.TextChoices):
    CUSTOMER_FACING = "CFS", "Customer-facing"
    RESOURCE_FACING = "RFS", "Resource-facing"


class ResourceCategory(models.TextChoices):
    PHYSICAL = "physical"
    LOGICAL = "logical"


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

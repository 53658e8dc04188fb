"""The product catalog: what the operator sells, at what price, what it needs from the network."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from catalog.choices import LifecycleStatus, PriceType, RecurringPeriod, ResourceKind, ValueType
from telco.money import currency_field, money_field
from telco.states import StateChange


class ResourceSpecification(models.Model):
    """A kind of network resource a service needs (a gNB, a slice...)."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    resource_kind = models.CharField(max_length=20, choices=ResourceKind.choices)
    lifecycle_status = models.CharField(
        max_length=20, choices=LifecycleStatus.choices, default=LifecycleStatus.LAUNCHED
    )
    last_update = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.name


class ServiceSpecification(models.Model):
    """A kind of service the network delivers, and the resources it is built from."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    lifecycle_status = models.CharField(
        max_length=20, choices=LifecycleStatus.choices, default=LifecycleStatus.LAUNCHED
    )
    resource_specifications = models.ManyToManyField(ResourceSpecification, blank=True)
    last_update = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.name


class ProductSpecification(models.Model):
    """What a product is, technically: its characteristics and the services that realise it."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    brand = models.CharField(max_length=60, blank=True)
    version = models.CharField(max_length=20, default="1.0")
    lifecycle_status = models.CharField(
        max_length=20, choices=LifecycleStatus.choices, default=LifecycleStatus.LAUNCHED
    )
    service_specifications = models.ManyToManyField(ServiceSpecification, blank=True)
    last_update = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.name


class CharacteristicSpecification(models.Model):
    """One configurable characteristic of a product (bandwidth, data cap...)."""

    product_specification = models.ForeignKey(
        ProductSpecification, on_delete=models.CASCADE, related_name="characteristics"
    )
    name = models.CharField(max_length=60)
    description = models.CharField(max_length=200, blank=True)
    value_type = models.CharField(max_length=10, choices=ValueType.choices, default="string")
    allowed_values = models.JSONField(default=list, blank=True)
    default_value = models.CharField(max_length=60, blank=True)
    is_required = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["product_specification", "name"], name="uniq_characteristic_per_spec"
            )
        ]
        ordering = ["id"]

    def __str__(self):
        return self.name


class ProductOffering(models.Model):
    """Something the operator sells: a product specification at a set of prices."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    product_specification = models.ForeignKey(
        ProductSpecification, on_delete=models.PROTECT, related_name="offerings"
    )
    lifecycle_status = models.CharField(
        max_length=20, choices=LifecycleStatus.choices, default=LifecycleStatus.IN_DESIGN
    )
    category = models.CharField(max_length=60, blank=True)
    valid_from = models.DateTimeField(default=timezone.now)
    valid_to = models.DateTimeField(null=True, blank=True)
    is_sellable = models.BooleanField(default=True)
    last_update = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.name

    def is_orderable(self) -> bool:
        return self.lifecycle_status == LifecycleStatus.LAUNCHED


class ProductOfferingPrice(models.Model):
    """A price of an offering: one-time, recurring, or usage per rating group with an allowance."""

    product_offering = models.ForeignKey(
        ProductOffering, on_delete=models.CASCADE, related_name="prices"
    )
    name = models.CharField(max_length=120)
    price_type = models.CharField(max_length=10, choices=PriceType.choices)
    recurring_period = models.CharField(max_length=10, choices=RecurringPeriod.choices, blank=True)
    amount = money_field()
    currency = currency_field()
    # Usage prices only: what is rated, per which unit, and how much is included each period.
    rating_group = models.CharField(max_length=60, blank=True)
    unit_of_measure = models.CharField(max_length=10, blank=True)
    included_allowance = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    valid_from = models.DateTimeField(default=timezone.now)
    valid_to = models.DateTimeField(null=True, blank=True)
    last_update = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="price_not_negative"),
            models.CheckConstraint(
                condition=~Q(price_type="usage") | ~Q(rating_group=""),
                name="usage_price_has_rating_group",
            ),
            models.CheckConstraint(
                condition=~Q(price_type="recurring") | ~Q(recurring_period=""),
                name="recurring_price_has_period",
            ),
        ]

    def __str__(self):
        return f"{self.product_offering} · {self.name}"


class ProductOfferingLifecycleChange(StateChange):
    """History of an offering's lifecycle moves (inDesign -> launched -> retired)."""

    offering = models.ForeignKey(ProductOffering, on_delete=models.CASCADE, related_name="history")

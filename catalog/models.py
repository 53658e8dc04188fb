"""The product catalog: what the operator sells, at what price, what it needs from the network."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from catalog.choices import (
    COUNTED_UNITS,
    LifecycleStatus,
    PriceType,
    RecurringPeriod,
    ResourceKind,
    ServiceCategory,
    ValueType,
)
from telco import clock
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
    last_update = models.DateTimeField(default=clock.now)

    def __str__(self):
        return self.name


class ServiceSpecification(models.Model):
    """A kind of service the network delivers, and the resources it is built from.

    A customer-facing (CFS) specification is realised by its `supporting_specifications`, the
    resource-facing (RFS) ones; each says through `resource_specifications` what it binds.
    """

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    category = models.CharField(
        max_length=3, choices=ServiceCategory.choices, default=ServiceCategory.CUSTOMER_FACING
    )
    lifecycle_status = models.CharField(
        max_length=20, choices=LifecycleStatus.choices, default=LifecycleStatus.LAUNCHED
    )
    resource_specifications = models.ManyToManyField(ResourceSpecification, blank=True)
    supporting_specifications = models.ManyToManyField(
        "self", symmetrical=False, related_name="supported_by", blank=True
    )
    last_update = models.DateTimeField(default=clock.now)

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
    last_update = models.DateTimeField(default=clock.now)

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
    # Numbers only: an inclusive range instead of (or as well as) a list of allowed values.
    min_value = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    max_value = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["product_specification", "name"], name="uniq_characteristic_per_spec"
            ),
            models.CheckConstraint(
                condition=Q(min_value__isnull=True)
                | Q(max_value__isnull=True)
                | Q(min_value__lte=models.F("max_value")),
                name="characteristic_range_ordered",
            ),
        ]
        ordering = ["id"]

    def __str__(self):
        return self.name


class Category(models.Model):
    """A TMF620 category of offerings ("Mobile", "Broadband"), possibly under a parent."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    lifecycle_status = models.CharField(
        max_length=20, choices=LifecycleStatus.choices, default=LifecycleStatus.LAUNCHED
    )
    valid_from = models.DateTimeField(default=clock.now)
    valid_to = models.DateTimeField(null=True, blank=True)
    last_update = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "categories"
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=models.F("pk")), name="category_not_own_parent"
            )
        ]

    def __str__(self):
        return self.name


class Catalog(models.Model):
    """A TMF620 catalog: a named collection of categories (a shop, a channel, a market)."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    catalog_type = models.CharField(max_length=60, blank=True)
    lifecycle_status = models.CharField(
        max_length=20, choices=LifecycleStatus.choices, default=LifecycleStatus.LAUNCHED
    )
    categories = models.ManyToManyField(Category, blank=True, related_name="catalogs")
    valid_from = models.DateTimeField(default=clock.now)
    valid_to = models.DateTimeField(null=True, blank=True)
    last_update = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name


class ProductOffering(models.Model):
    """Something the operator sells: a product specification at a set of prices.

    A bundle (`is_bundle`) is an offering of offerings: ordering it orders each of
    `bundled_offerings`. `market_segments` lists the customer segments it may be sold to
    (crm Segment values); empty means every segment.
    """

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    product_specification = models.ForeignKey(
        ProductSpecification, on_delete=models.PROTECT, related_name="offerings"
    )
    lifecycle_status = models.CharField(
        max_length=20, choices=LifecycleStatus.choices, default=LifecycleStatus.IN_DESIGN
    )
    categories = models.ManyToManyField(Category, blank=True, related_name="offerings")
    market_segments = models.JSONField(default=list, blank=True)
    is_bundle = models.BooleanField(default=False)
    bundled_offerings = models.ManyToManyField(
        "self", symmetrical=False, related_name="bundles", blank=True
    )
    valid_from = models.DateTimeField(default=clock.now)
    valid_to = models.DateTimeField(null=True, blank=True)
    is_sellable = models.BooleanField(default=True)
    last_update = models.DateTimeField(default=clock.now)

    def __str__(self):
        return self.name

    def is_orderable(self) -> bool:
        return self.lifecycle_status == LifecycleStatus.LAUNCHED

    def is_eligible_for(self, segment: str) -> bool:
        """May a customer of `segment` buy it? An empty list of segments means anyone."""
        return not self.market_segments or segment in self.market_segments


class ProductOfferingPrice(models.Model):
    """A price of an offering: one-time, recurring, usage per rating group, or a discount.

    A price is designed (`inDesign`: its offering, type and value may still be missing), then
    `launched`: only launched prices are in force for ordering and rating, and a launched price
    always has an offering, a type and a value (`launched_price_is_complete`).

    Usage beyond `included_allowance` is rated at `amount` per unit, or per its `tiers` when it
    has any. A discount reduces the offering's recurring charges by `percentage` or by a fixed
    `amount`, for `applies_for_periods` billing periods from the product's start (null: always).
    """

    product_offering = models.ForeignKey(
        ProductOffering, on_delete=models.CASCADE, related_name="prices", null=True, blank=True
    )
    name = models.CharField(max_length=120)
    price_type = models.CharField(max_length=10, choices=PriceType.choices, blank=True)
    recurring_period = models.CharField(max_length=10, choices=RecurringPeriod.choices, blank=True)
    amount = money_field(null=True, blank=True)
    currency = currency_field()
    # Usage prices only: what is rated, per which unit, and how much is included each period.
    rating_group = models.CharField(max_length=60, blank=True)
    unit_of_measure = models.CharField(max_length=10, blank=True)
    included_allowance = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    # Discounts only.
    percentage = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    applies_for_periods = models.PositiveSmallIntegerField(null=True, blank=True)
    # Launched by default for rows made outside the services (fixtures, the admin); the API and
    # `price_create` start a price in design.
    lifecycle_status = models.CharField(
        max_length=20, choices=LifecycleStatus.choices, default=LifecycleStatus.LAUNCHED
    )
    valid_from = models.DateTimeField(default=clock.now)
    valid_to = models.DateTimeField(null=True, blank=True)
    last_update = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0), name="price_not_negative"
            ),
            models.CheckConstraint(
                condition=~Q(lifecycle_status="launched")
                | (Q(product_offering__isnull=False, amount__isnull=False) & ~Q(price_type="")),
                name="launched_price_is_complete",
            ),
            models.CheckConstraint(
                condition=~Q(price_type="usage") | ~Q(rating_group=""),
                name="usage_price_has_rating_group",
            ),
            models.CheckConstraint(
                condition=~Q(price_type="recurring") | ~Q(recurring_period=""),
                name="recurring_price_has_period",
            ),
            models.CheckConstraint(
                condition=~Q(price_type="discount")
                | Q(percentage__isnull=False, amount=0)
                | Q(percentage__isnull=True, amount__gt=0)
                | Q(percentage__isnull=True, amount__isnull=True),  # in design, no value yet
                name="discount_percentage_or_amount",
            ),
            models.CheckConstraint(
                condition=Q(percentage__isnull=True)
                | Q(price_type="discount", percentage__gt=0, percentage__lte=100),
                name="discount_percentage_in_range",
            ),
            models.CheckConstraint(
                condition=Q(applies_for_periods__isnull=True) | Q(applies_for_periods__gt=0),
                name="price_applies_for_periods_positive",
            ),
        ]

    def __str__(self):
        if self.product_offering_id is None:
            return self.name
        return f"{self.product_offering} · {self.name}"

    @property
    def amount_per_month(self) -> Decimal:
        """What this price charges a month: a recurring price, a yearly one spread over twelve
        months; nothing for the other types. The one home of that rule."""
        if self.price_type != PriceType.RECURRING or self.amount is None:
            return Decimal("0")
        return self.amount / 12 if self.recurring_period == RecurringPeriod.YEAR else self.amount

    def units_in(self, characteristics: dict) -> int:
        """How many times this price applies to a product with these characteristics: once, or,
        for a price per a counted unit (`COUNTED_UNITS`: a fee per site), once per item of the
        characteristic that names them ("12,15": two sites; none named: 0)."""
        name = COUNTED_UNITS.get(self.unit_of_measure)
        if name is None:
            return 1
        named = str((characteristics or {}).get(name) or "")
        return len([item for item in named.split(",") if item.strip()])


class PriceTier(models.Model):
    """One band of a tiered usage price: quantity in [lower_bound, upper_bound) at unit_amount.

    Bounds count the usage beyond the included allowance; the tiers of a price run contiguous
    from 0, and the last may be unbounded (`upper_bound` null).
    """

    price = models.ForeignKey(ProductOfferingPrice, on_delete=models.CASCADE, related_name="tiers")
    lower_bound = models.DecimalField(max_digits=18, decimal_places=4)
    upper_bound = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    unit_amount = money_field()

    class Meta:
        ordering = ["lower_bound"]
        constraints = [
            models.UniqueConstraint(fields=["price", "lower_bound"], name="uniq_tier_start"),
            models.CheckConstraint(condition=Q(lower_bound__gte=0), name="tier_lower_not_negative"),
            models.CheckConstraint(
                condition=Q(upper_bound__isnull=True) | Q(upper_bound__gt=models.F("lower_bound")),
                name="tier_upper_above_lower",
            ),
            models.CheckConstraint(condition=Q(unit_amount__gte=0), name="tier_not_negative"),
        ]

    def __str__(self):
        upper = "" if self.upper_bound is None else self.upper_bound
        return f"{self.price} [{self.lower_bound}, {upper})"


class ProductOfferingLifecycleChange(StateChange):
    """History of an offering's lifecycle moves (inDesign -> launched -> retired)."""

    offering = models.ForeignKey(ProductOffering, on_delete=models.CASCADE, related_name="history")


class ProductOfferingPriceLifecycleChange(StateChange):
    """History of a price's lifecycle moves (inDesign -> launched -> retired): who, when."""

    price = models.ForeignKey(
        ProductOfferingPrice, on_delete=models.CASCADE, related_name="history"
    )


# The longest month, in minutes: an outage allowance above it could never be reached.
MINUTES_IN_LONGEST_MONTH = 31 * 24 * 60


def _percent(value, *, field: str, errors: dict, low: Decimal = Decimal(0)) -> Decimal | None:
    """`value` as a Decimal percent in (low, 100], or None with a message in `errors`."""
    try:
        number = Decimal(str(value))
    except (ArithmeticError, ValueError, TypeError):
        number = None
    if number is None or not number.is_finite():
        errors.setdefault(field, []).append(f"'{value}' is not a number.")
        return None
    if not low < number <= 100:
        errors.setdefault(field, []).append(f"{number} is not a percent in ({low}, 100].")
        return None
    return number


class ServiceLevelAgreement(models.Model):
    """The service level an offering promises each month and what breaking it costs (the terms
    of TMF657 ServiceLevelSpecification): one per offering, `offering.sla`.

    A service of a product of the offering breaches the SLA in a billing period when its
    achieved availability is below `availability_target`, its outage minutes exceed
    `max_outage_minutes`, or it spends more than `latency_allowance_minutes` above
    `latency_target_ms`. The credit is a percent of the product's monthly recurring charge:
    the deepest band of `credit_bands` the achieved availability falls in (rows
    `{"availabilityBelow": "99.9", "creditPercent": "10"}`, thresholds falling and credits
    rising), or `outage_credit_percent` / `latency_credit_percent` for the other terms,
    whichever is largest.
    """

    offering = models.OneToOneField(ProductOffering, on_delete=models.CASCADE, related_name="sla")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    availability_target = models.DecimalField(
        max_digits=6, decimal_places=3, help_text="Percent of the month, e.g. 99.900."
    )
    max_outage_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Outage minutes a month beyond which the SLA is breached."
    )
    outage_credit_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=0, help_text="Credit when max outage is exceeded."
    )
    latency_target_ms = models.PositiveIntegerField(null=True, blank=True)
    latency_allowance_minutes = models.PositiveIntegerField(
        default=0, help_text="Minutes a month the latency may be above target without a breach."
    )
    latency_credit_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    credit_bands = models.JSONField(
        default=list,
        blank=True,
        help_text='Rows {"availabilityBelow": "99.9", "creditPercent": "10"}, thresholds '
        "falling, credits rising.",
    )
    valid_from = models.DateTimeField(default=clock.now)
    last_update = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["id"]
        verbose_name = "service level agreement"
        constraints = [
            models.CheckConstraint(
                condition=Q(availability_target__gt=0, availability_target__lte=100),
                name="sla_availability_target_percent",
            ),
            models.CheckConstraint(
                condition=Q(outage_credit_percent__gte=0, outage_credit_percent__lte=100)
                & Q(latency_credit_percent__gte=0, latency_credit_percent__lte=100),
                name="sla_credit_percents_in_range",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.availability_target}%)"

    def terms_errors(self) -> dict[str, list[str]]:
        """What does not add up in these terms, by field (model field names); empty if sound."""
        errors: dict[str, list[str]] = {}
        target = _percent(self.availability_target, field="availability_target", errors=errors)
        for field in ("outage_credit_percent", "latency_credit_percent"):
            value = getattr(self, field)
            if value is not None and Decimal(str(value)) != 0:
                _percent(value, field=field, errors=errors)
        if self.max_outage_minutes is not None:
            if self.max_outage_minutes > MINUTES_IN_LONGEST_MONTH:
                errors.setdefault("max_outage_minutes", []).append(
                    f"{self.max_outage_minutes} minutes is more than a month "
                    f"({MINUTES_IN_LONGEST_MONTH})."
                )
            elif target is not None:
                allowed = MINUTES_IN_LONGEST_MONTH * (100 - target) / 100
                if self.max_outage_minutes > allowed:
                    errors.setdefault("max_outage_minutes", []).append(
                        f"{self.max_outage_minutes} minutes is more than the "
                        f"{allowed.quantize(Decimal('0.1'))} a {target}% availability allows "
                        "in a month: the availability target would always breach first."
                    )
        elif self.outage_credit_percent:
            errors.setdefault("outage_credit_percent", []).append(
                "A credit for outage minutes needs max_outage_minutes."
            )
        if self.latency_target_ms is not None and self.latency_target_ms <= 0:
            errors.setdefault("latency_target_ms", []).append("The latency target must be > 0.")
        if self.latency_target_ms is None and self.latency_credit_percent:
            errors.setdefault("latency_credit_percent", []).append(
                "A latency credit needs latency_target_ms."
            )
        if self.latency_allowance_minutes and self.latency_allowance_minutes > (
            MINUTES_IN_LONGEST_MONTH
        ):
            errors.setdefault("latency_allowance_minutes", []).append(
                f"More than a month ({MINUTES_IN_LONGEST_MONTH} minutes)."
            )
        self._credit_band_errors(target, errors)
        return errors

    def _credit_band_errors(self, target: Decimal | None, errors: dict) -> None:
        bands = self.credit_bands
        if not isinstance(bands, list):
            errors.setdefault("credit_bands", []).append("The credit table is a list of rows.")
            return
        previous_below = previous_credit = None
        for index, band in enumerate(bands):
            field = f"credit_bands[{index}]"
            if not isinstance(band, dict) or set(band) != {"availabilityBelow", "creditPercent"}:
                errors.setdefault(field, []).append(
                    'A row is {"availabilityBelow": <percent>, "creditPercent": <percent>}.'
                )
                continue
            below = _percent(
                band["availabilityBelow"], field=f"{field}.availabilityBelow", errors=errors
            )
            credit = _percent(band["creditPercent"], field=f"{field}.creditPercent", errors=errors)
            if below is not None and target is not None and below > target:
                errors.setdefault(f"{field}.availabilityBelow", []).append(
                    f"{below}% is above the availability target {target}%."
                )
            if below is not None and previous_below is not None and below >= previous_below:
                errors.setdefault(f"{field}.availabilityBelow", []).append(
                    f"Bands are ordered by falling availability: {below}% follows "
                    f"{previous_below}%."
                )
            if credit is not None and previous_credit is not None and credit <= previous_credit:
                errors.setdefault(f"{field}.creditPercent", []).append(
                    f"A lower availability earns a larger credit: {credit}% follows "
                    f"{previous_credit}%."
                )
            previous_below = below if below is not None else previous_below
            previous_credit = credit if credit is not None else previous_credit

    def clean(self):
        errors = self.terms_errors()
        if errors:
            # The admin form shows model-field errors beside the field, the rest on top.
            by_field = {}
            for field, messages in errors.items():
                key = field if field in {f.name for f in self._meta.fields} else "credit_bands"
                prefix = "" if key == field else f"{field}: "
                by_field.setdefault(key, []).extend(prefix + m for m in messages)
            raise ValidationError(by_field)

    def credit_percent(
        self, *, availability: Decimal, outage_minutes: Decimal, latency_minutes: Decimal
    ) -> Decimal:
        """The credit, percent of the monthly recurring charge, for a period that achieved
        `availability` percent with `outage_minutes` down and `latency_minutes` above target."""
        credit = Decimal(0)
        for band in self.credit_bands:
            if availability < Decimal(str(band["availabilityBelow"])):
                credit = max(credit, Decimal(str(band["creditPercent"])))
        if self.max_outage_minutes is not None and outage_minutes > self.max_outage_minutes:
            credit = max(credit, self.outage_credit_percent)
        if self.latency_target_ms is not None and latency_minutes > self.latency_allowance_minutes:
            credit = max(credit, self.latency_credit_percent)
        return min(credit, Decimal(100))

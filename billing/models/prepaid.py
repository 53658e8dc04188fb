"""Prepaid: balances per product (TMF654 buckets of money, data, voice, SMS), their top-ups and
vouchers, online charging sessions (Diameter Gy style), and the ledger of every movement."""

from django.db import models
from django.db.models import F, Q

from crm.models import BillingAccount
from inventory.models import ProductInstance
from telco import clock
from telco.money import currency_field, money_field


class UsageType(models.TextChoices):
    """What a bucket holds (TMF654 UsageType)."""

    MONETARY = "monetary"
    DATA = "data"
    VOICE = "voice"
    SMS = "sms"


# The unit a unit bucket counts in; a monetary bucket counts in its currency.
BUCKET_UNITS = {UsageType.DATA: "MB", UsageType.VOICE: "min", UsageType.SMS: "sms"}


class BucketStatus(models.TextChoices):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    EXPIRED = "expired"


class SessionState(models.TextChoices):
    ACTIVE = "active"
    TERMINATED = "terminated"
    # Went silent longer than the session timeout: released by the sweep.
    TIMED_OUT = "timedOut"


class LedgerKind(models.TextChoices):
    """A movement of a bucket: what it does to `remaining` and `reserved`."""

    TOPUP = "topup"  # remaining +
    RESERVE = "reserve"  # remaining -, reserved +
    COMMIT = "commit"  # reserved - (consumed)
    RELEASE = "release"  # reserved -, remaining +
    EXPIRE = "expire"  # remaining - (forfeited at the end of validity)
    CREDIT = "credit"  # remaining + (an adjustment: goodwill, a correction)
    DEBIT = "debit"  # remaining - (an adjustment: a correction, a refunded top-up)
    RENEW = "renew"  # remaining - (the plan's fee for another validity period, from money)
    TRANSFER_OUT = "transferOut"  # remaining - (moved to another bucket)
    TRANSFER_IN = "transferIn"  # remaining + (moved from another bucket)


class TopupState(models.TextChoices):
    """TMF654 ActionStatusType."""

    CREATED = "created"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class PrepaidPlan(models.Model):
    """What a prepaid offering gives when its product activates: the allowances of one validity
    period and the opening credit, and the out-of-bundle prices charged against the money
    bucket once an allowance is used up."""

    offering = models.OneToOneField(
        "catalog.ProductOffering", on_delete=models.CASCADE, related_name="prepaid_plan"
    )
    validity_days = models.PositiveIntegerField(default=30)
    data_mb = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    voice_minutes = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    sms = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    initial_credit = money_field(default=0)
    currency = currency_field()
    price_per_mb = money_field(default=0)
    price_per_minute = money_field(default=0)
    price_per_sms = money_field(default=0)
    # A money balance under this is low: the customer is told once, until topped up again.
    low_balance_threshold = money_field(default=0)
    # Taken from the money at the end of each validity period to grant the allowances again
    # (0: no renewal, the allowances just expire). Not enough money: they expire, and renew
    # at the first sweep after a top-up covers the fee.
    renewal_price = money_field(default=0)

    def __str__(self):
        return f"Prepaid plan of {self.offering_id}"

    def allowance(self, usage_type: str):
        return {
            UsageType.DATA: self.data_mb,
            UsageType.VOICE: self.voice_minutes,
            UsageType.SMS: self.sms,
            UsageType.MONETARY: self.initial_credit,
        }[usage_type]

    def unit_price(self, usage_type: str):
        return {
            UsageType.DATA: self.price_per_mb,
            UsageType.VOICE: self.price_per_minute,
            UsageType.SMS: self.price_per_sms,
        }.get(usage_type, 0)


class PrepaidBucket(models.Model):
    """A prepaid balance of one product (TMF654 bucket): money or units of one usage type.

    `remaining` is what can still be reserved; `reserved` is held by open charging sessions.
    Both are never negative (the database refuses it), so no session takes more than the
    bucket held.
    """

    product = models.ForeignKey(
        ProductInstance, on_delete=models.PROTECT, related_name="prepaid_buckets"
    )
    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, related_name="prepaid_buckets"
    )
    usage_type = models.CharField(max_length=10, choices=UsageType.choices)
    units = models.CharField(max_length=3)
    remaining = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    reserved = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    status = models.CharField(
        max_length=10, choices=BucketStatus.choices, default=BucketStatus.ACTIVE
    )
    valid_from = models.DateTimeField(default=clock.now)
    valid_to = models.DateTimeField(null=True, blank=True)
    low_balance_notified_at = models.DateTimeField(null=True, blank=True)
    expiry_notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    last_update = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "usage_type"], name="one_prepaid_bucket_per_usage_type"
            ),
            models.CheckConstraint(
                condition=Q(remaining__gte=0) & Q(reserved__gte=0),
                name="prepaid_bucket_never_negative",
            ),
        ]
        indexes = [
            models.Index(
                fields=["valid_to"], condition=Q(status="active"), name="prepaid_bucket_expiry"
            ),
        ]

    def __str__(self):
        return f"{self.get_usage_type_display()} bucket {self.pk} of product {self.product_id}"


class Voucher(models.Model):
    """A recharge voucher: a unique code worth an amount of money, usable once."""

    code = models.CharField(max_length=32, unique=True)
    amount = money_field()
    currency = currency_field()
    valid_to = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="voucher_amount_positive"),
        ]

    def __str__(self):
        return f"Voucher {self.code[-4:]}"


class BalanceOperation(models.Model):
    """What every TMF654 balance operation records: its status, channel, when it was asked
    and confirmed, and who asked."""

    status = models.CharField(
        max_length=10, choices=TopupState.choices, default=TopupState.COMPLETED
    )
    channel = models.CharField(max_length=40, blank=True)
    requested_date = models.DateTimeField(default=clock.now)
    confirmation_date = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=150, blank=True)

    class Meta:
        abstract = True


class TopupBalance(BalanceOperation):
    """A top-up of a bucket (TMF654 topupBalance), paid by a voucher or a TMF676 payment."""

    bucket = models.ForeignKey(PrepaidBucket, on_delete=models.PROTECT, related_name="topups")
    amount = models.DecimalField(max_digits=18, decimal_places=4)
    voucher = models.OneToOneField(
        Voucher, on_delete=models.PROTECT, null=True, blank=True, related_name="topup"
    )
    payment = models.OneToOneField(
        "billing.Payment", on_delete=models.PROTECT, null=True, blank=True, related_name="topup"
    )
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="topup_amount_positive"),
        ]

    def __str__(self):
        return f"Top-up {self.pk} of bucket {self.bucket_id}"


class AdjustBalance(BalanceOperation):
    """An adjustment of a bucket (TMF654 adjustBalance): a credit (positive `amount`, say a
    goodwill gigabyte after an outage) or a debit (negative). A refunded or reversed top-up
    payment debits its bucket through one; `unrecovered` is what of that payment the customer
    had already spent, so it could not be taken back."""

    bucket = models.ForeignKey(PrepaidBucket, on_delete=models.PROTECT, related_name="adjustments")
    amount = models.DecimalField(max_digits=18, decimal_places=4)
    payment = models.ForeignKey(
        "billing.Payment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="balance_adjustments",
    )
    unrecovered = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    reason = models.CharField(max_length=200)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(amount=0) & Q(unrecovered__gte=0), name="adjust_balance_moves"
            ),
        ]

    def __str__(self):
        return f"Adjustment {self.pk} of bucket {self.bucket_id}"


class ChargingSession(models.Model):
    """An online charging session (a Diameter Gy credit-control session).

    `reserved` is what the session took from its bucket (in the bucket's units) in quota
    chunks; `granted` is the part of it the network may use now; `used` what it reported.
    Updates within the reservation touch only this row; the bucket moves when a chunk is
    reserved and when the session ends (used committed, the rest released).
    """

    session_id = models.CharField(max_length=200, unique=True)
    bucket = models.ForeignKey(PrepaidBucket, on_delete=models.PROTECT, related_name="sessions")
    product = models.ForeignKey(
        ProductInstance, on_delete=models.PROTECT, related_name="charging_sessions"
    )
    usage_type = models.CharField(max_length=10, choices=UsageType.choices)
    # Bucket units per service unit: 1 on a unit bucket, the out-of-bundle price on money.
    unit_price = models.DecimalField(max_digits=18, decimal_places=4, default=1)
    reserved = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    granted = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    used = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    request_number = models.PositiveIntegerField(default=0)
    state = models.CharField(
        max_length=10, choices=SessionState.choices, default=SessionState.ACTIVE
    )
    created_at = models.DateTimeField(default=clock.now)
    last_seen_at = models.DateTimeField(default=clock.now)
    terminated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(used__gte=0) & Q(granted__gte=0) & Q(used__lte=F("reserved")),
                name="charging_session_within_reservation",
            ),
        ]
        indexes = [
            # Not on last_seen_at: an update within the quota must touch no indexed column,
            # so PostgreSQL updates the row in place (HOT) without writing any index.
            models.Index(
                fields=["created_at"],
                condition=Q(state="active"),
                name="charging_session_open",
            ),
            models.Index(fields=["product", "-created_at"], name="charging_session_product"),
        ]

    def __str__(self):
        return self.session_id


class BalanceAction(models.Model):
    """One movement of a bucket (TMF654 balanceActionHistory): the ledger, which adds up to
    the bucket's `remaining` and `reserved` to the cent."""

    bucket = models.ForeignKey(PrepaidBucket, on_delete=models.PROTECT, related_name="actions")
    kind = models.CharField(max_length=12, choices=LedgerKind.choices)
    amount = models.DecimalField(max_digits=18, decimal_places=4)
    session = models.ForeignKey(
        ChargingSession, on_delete=models.PROTECT, null=True, blank=True, related_name="actions"
    )
    topup = models.ForeignKey(
        TopupBalance, on_delete=models.PROTECT, null=True, blank=True, related_name="actions"
    )
    adjustment = models.ForeignKey(
        AdjustBalance, on_delete=models.PROTECT, null=True, blank=True, related_name="actions"
    )
    # Indexed only where set (below): charging writes most ledger rows and names neither.
    transfer = models.ForeignKey(
        "billing.TransferBalance",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        related_name="actions",
    )
    reservation = models.ForeignKey(
        "billing.ReserveBalance",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        related_name="actions",
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="balance_action_positive"),
        ]
        indexes = [
            models.Index(fields=["bucket", "-id"], name="balance_action_bucket"),
            models.Index(
                fields=["transfer"],
                condition=Q(transfer__isnull=False),
                name="balance_action_transfer",
            ),
            models.Index(
                fields=["reservation"],
                condition=Q(reservation__isnull=False),
                name="balance_action_reservation",
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.amount} on bucket {self.bucket_id}"

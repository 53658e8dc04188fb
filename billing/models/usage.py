"""Usage: what the network reports and how it is charged."""

from django.db import models
from django.db.models import Q

from billing.choices import (
    UsageRejectionReason,
    UsageStatus,
)
from crm.models import BillingAccount
from inventory.models import ProductInstance, Service
from telco import clock


class UsageSpecification(models.Model):
    """What a kind of usage record carries (TMF635 usageSpecification): data session, call...

    The id is a slug made from the name at creation (`data-session`), so the network's
    mediation can name the specification in its records without looking an integer up first.
    """

    id = models.CharField(primary_key=True, max_length=40)
    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    version = models.CharField(max_length=20, blank=True)
    lifecycle_status = models.CharField(max_length=20, default="active")
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)
    # The characteristics a record of this kind carries: [{"name", "valueType", "description"}].
    spec_characteristics = models.JSONField(default=list, blank=True)
    last_update = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name


class UsageEvent(models.Model):
    """One usage record from the network (TMF635). `event_id` makes ingest idempotent.

    Every record is kept: one that cannot be charged is `rejected`, with the reason, and the
    attributes it lacked are empty; only `received`/`rated` records are ever billed.
    """

    # Null only on a rejected record that came without one (it cannot be deduplicated), or on a
    # conflicting arrival of an eventId already stored (see `reported_event_id`). Unique by a
    # constraint (no second, LIKE-pattern index to maintain on every insert). Collation "C" on
    # PostgreSQL (migration 0018: byte comparisons in that index, the costliest on ingest); an
    # AlterField of this column must keep it.
    event_id = models.CharField(max_length=80, null=True, blank=True)
    # No foreign-key constraints in the database on the references a record carries (service,
    # product, account, specification, duplicate_of, applied_charge): PostgreSQL would queue a
    # check for each of them for every inserted row, even a NULL one; bulk ingest key-share
    # locks the rows a batch names once instead (see billing.services.usage_bulk), and deletes
    # are PROTECTed by the ORM. The product is indexed by
    # the (product, rating group, date) index; the service is not (nothing reads usage by
    # service alone: the fraud rules read it by product), one index less for every insert.
    service = models.ForeignKey(
        Service,
        on_delete=models.PROTECT,
        related_name="usage",
        null=True,
        blank=True,
        db_constraint=False,
        db_index=False,
    )
    product = models.ForeignKey(
        ProductInstance,
        on_delete=models.PROTECT,
        related_name="usage",
        null=True,
        blank=True,
        db_constraint=False,
        db_index=False,
    )
    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, null=True, blank=True, db_constraint=False
    )
    usage_date = models.DateTimeField(null=True, blank=True)
    usage_type = models.CharField(max_length=20, default="data")
    usage_specification = models.ForeignKey(
        UsageSpecification,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="usage",
        db_constraint=False,
        db_index=False,
    )
    rating_group = models.CharField(max_length=60, blank=True)
    # The number a call or message went to (usageCharacteristic `destination`): what the SIM-box
    # fraud rule counts. A database default, so bulk loads that do not name it need not.
    destination = models.CharField(max_length=40, blank=True, default="", db_default="")
    volume = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    unit = models.CharField(max_length=10, blank=True)
    # Volume normalised to the price's unit of measure (GB for data), set on ingest.
    rated_volume = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=UsageStatus.choices, default=UsageStatus.RECEIVED
    )
    rejection_reason = models.CharField(
        max_length=24, choices=UsageRejectionReason.choices, blank=True
    )
    rejection_message = models.CharField(max_length=300, blank=True)
    # The serviceId as the network sent it, when it names no service of ours.
    reported_service_id = models.CharField(max_length=80, blank=True)
    # A conflicting arrival (reason duplicateEventConflict): the eventId it was sent with, which
    # belongs to `duplicate_of`, the record stored first.
    reported_event_id = models.CharField(max_length=80, blank=True)
    duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="conflicts",
        db_constraint=False,
        db_index=False,  # indexed where set (usage_conflicts)
    )
    received_at = models.DateTimeField(default=clock.now)
    # The bill line that charged this event (set by the bill run): traces usage to the invoice.
    applied_charge = models.ForeignKey(
        "AppliedCharge",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="usage_events",
        db_constraint=False,
        db_index=False,  # indexed where set (usage_charged): most rows wait for their bill
    )

    class Meta:
        indexes = [
            models.Index(fields=["product", "rating_group", "usage_date"]),
            # What a bill run still has to charge (including late usage): small, always hot.
            models.Index(
                fields=["product", "usage_date"],
                condition=Q(status__in=["received", "rated"]),
                name="usage_unbilled",
            ),
            # Operations' list of rejected usage, by reason and day of arrival.
            models.Index(
                fields=["rejection_reason", "received_at"],
                condition=Q(status="rejected"),
                name="usage_rejected",
            ),
            models.Index(
                fields=["applied_charge"],
                condition=Q(applied_charge__isnull=False),
                name="usage_charged",
            ),
            models.Index(
                fields=["duplicate_of"],
                condition=Q(duplicate_of__isnull=False),
                name="usage_conflicts",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["event_id"], name="usage_event_id_unique"),
            models.CheckConstraint(condition=Q(volume__gte=0), name="usage_volume_not_negative"),
            # A record the bill run may charge has everything rating needs.
            models.CheckConstraint(
                condition=Q(status="rejected")
                | Q(
                    event_id__isnull=False,
                    service__isnull=False,
                    product__isnull=False,
                    billing_account__isnull=False,
                    usage_date__isnull=False,
                    rated_volume__isnull=False,
                ),
                name="usage_chargeable_is_complete",
            ),
        ]

    def __str__(self):
        return self.event_id or f"usage {self.pk}"

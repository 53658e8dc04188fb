"""TMF654 operations between and on prepaid buckets: transfers from one bucket to another,
reservations that hold part of a bucket for a later use, and the accumulated balance of an
account per unit (a database view over its buckets)."""

from django.db import models
from django.db.models import F, Q

from billing.models.prepaid import BalanceOperation, PrepaidBucket, TopupState, UsageType
from crm.models import BillingAccount


class TransferBalance(BalanceOperation):
    """A transfer of money or units from one bucket to another of the same unit (TMF654
    transferBalance), between the subscriptions of one customer; done at once, on the ledger
    of both buckets."""

    bucket = models.ForeignKey(
        PrepaidBucket, on_delete=models.PROTECT, related_name="transfers_out"
    )
    receiver_bucket = models.ForeignKey(
        PrepaidBucket, on_delete=models.PROTECT, related_name="transfers_in"
    )
    amount = models.DecimalField(max_digits=18, decimal_places=4)
    reason = models.CharField(max_length=200, blank=True)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_amount_positive"),
            models.CheckConstraint(
                condition=~Q(bucket=F("receiver_bucket")), name="transfer_between_two_buckets"
            ),
        ]

    def __str__(self):
        return f"Transfer {self.pk} from bucket {self.bucket_id} to {self.receiver_bucket_id}"


# A reservation holds its amount while `created`; it is used (`completed`) or released
# (`cancelled`: asked, or its validity ended) once.
RESERVATION_TRANSITIONS = {
    TopupState.CREATED: {TopupState.COMPLETED, TopupState.CANCELLED},
}


class ReserveBalance(BalanceOperation):
    """A reservation of part of a bucket for a later use (TMF654 reserveBalance): moved from
    the bucket's `remaining` to its `reserved`, as a charging session's quota is, so neither
    sessions nor transfers can take it; released when cancelled or at `valid_to`."""

    bucket = models.ForeignKey(PrepaidBucket, on_delete=models.PROTECT, related_name="reservations")
    amount = models.DecimalField(max_digits=18, decimal_places=4)
    reason = models.CharField(max_length=200, blank=True)
    description = models.CharField(max_length=300, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)
    # The one move out of `created`: when, by whom, why ("validity ended" for the sweep).
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=150, blank=True)
    close_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="reservation_amount_positive"),
        ]
        indexes = [
            models.Index(
                fields=["valid_to"], condition=Q(status="created"), name="reservation_open"
            ),
        ]

    def __str__(self):
        return f"Reservation {self.pk} on bucket {self.bucket_id}"


class AccumulatedBalance(models.Model):
    """What an account holds of one unit across its buckets (TMF654 accumulatedBalance):
    `remaining` and `reserved` of its active buckets summed. A view (migration 0017), id
    `<account id>-<units>`."""

    id = models.CharField(primary_key=True, max_length=40)
    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    usage_type = models.CharField(max_length=10, choices=UsageType.choices)
    units = models.CharField(max_length=3)
    remaining = models.DecimalField(max_digits=18, decimal_places=4)
    reserved = models.DecimalField(max_digits=18, decimal_places=4)
    last_update = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "billing_accumulatedbalance"
        ordering = ["billing_account_id", "units"]

    def __str__(self):
        return f"{self.units} of account {self.billing_account_id}"

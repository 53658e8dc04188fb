"""A bill run's chunks: the slices of its accounts that workers bill, one transaction each."""

from django.db import models

from billing.models.bills import BillRun


class BillRunChunk(models.Model):
    """Accounts `first_account_id`..`last_account_id` (in the run's scope) of one bill run,
    billed by one task in one transaction; `done_at` is set in that transaction, so a chunk is
    either billed whole and done, or not at all and still to do (a resume enqueues it again)."""

    bill_run = models.ForeignKey(BillRun, on_delete=models.CASCADE, related_name="chunks")
    first_account_id = models.BigIntegerField()
    last_account_id = models.BigIntegerField()
    accounts = models.PositiveIntegerField()
    bills_created = models.PositiveIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["bill_run", "first_account_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["bill_run", "first_account_id"], name="one_chunk_per_run_start"
            )
        ]
        indexes = [
            models.Index(
                fields=["bill_run"],
                condition=models.Q(done_at__isnull=True),
                name="billing_chunk_to_do",
            )
        ]

    def __str__(self):
        first, last = self.first_account_id, self.last_account_id
        return f"Bill run {self.bill_run_id} accounts {first}-{last}"

"""SLA credits owed to products, billed as negative lines."""

from django.db import models
from django.db.models import Q

from crm.models import BillingAccount
from inventory.models import ProductInstance
from telco import clock
from telco.money import currency_field, money_field


class SlaCredit(models.Model):
    """What a broken SLA owes a product for one period: a negative line on the account's next
    bill. Recorded by assurance (through `billing.services.sla_credit_record`) once per product
    and period (`uniq_sla_credit_per_product_period`); billed once, by the bill line whose
    `charge_key` it holds (unbilled while no line has that key)."""

    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, related_name="sla_credits"
    )
    product = models.ForeignKey(
        ProductInstance, on_delete=models.PROTECT, related_name="sla_credits"
    )
    sla = models.ForeignKey(
        "catalog.ServiceLevelAgreement", on_delete=models.PROTECT, related_name="credits"
    )
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    # The incidents (TMF656 ServiceProblem ids) whose outage made the breach: references up the
    # stack, so ids, not keys.
    incident_ids = models.JSONField(default=list, blank=True)
    availability_target = models.DecimalField(max_digits=6, decimal_places=3)
    achieved_availability = models.DecimalField(max_digits=7, decimal_places=4)
    outage_minutes = models.DecimalField(max_digits=10, decimal_places=2)
    latency_minutes = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    credit_percent = models.DecimalField(max_digits=5, decimal_places=2)
    monthly_recurring_charge = money_field()
    amount = money_field()  # the credit, positive, rated to 4 places; the bill line negates it
    currency = currency_field()
    description = models.CharField(max_length=300, blank=True)
    charge_key = models.CharField(max_length=120, unique=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "period_start"], name="uniq_sla_credit_per_product_period"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gt=models.F("period_start")),
                name="sla_credit_period_ordered",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="sla_credit_positive"),
            models.CheckConstraint(
                condition=Q(credit_percent__gt=0, credit_percent__lte=100),
                name="sla_credit_percent_in_range",
            ),
        ]
        indexes = [models.Index(fields=["billing_account", "period_start"])]

    def __str__(self):
        return f"SLA credit {self.amount} {self.currency} for product {self.product_id}"

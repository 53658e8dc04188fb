from django.db import models


class BillState(models.TextChoices):
    NEW = "new"
    VALIDATED = "validated"
    SENT = "sent"
    PARTIALLY_PAID = "partiallyPaid"
    SETTLED = "settled"
    ON_HOLD = "onHold"


BILL_TRANSITIONS = {
    BillState.NEW: {BillState.VALIDATED, BillState.ON_HOLD},
    BillState.VALIDATED: {BillState.SENT, BillState.ON_HOLD},
    BillState.SENT: {BillState.PARTIALLY_PAID, BillState.SETTLED, BillState.ON_HOLD},
    BillState.PARTIALLY_PAID: {BillState.SETTLED, BillState.ON_HOLD},
    BillState.ON_HOLD: {BillState.VALIDATED, BillState.SENT},
    BillState.SETTLED: set(),
}


class ChargeType(models.TextChoices):
    RECURRING = "recurring"
    ONE_TIME = "oneTime"
    USAGE = "usage"


class UsageStatus(models.TextChoices):
    RECEIVED = "received"
    RATED = "rated"
    BILLED = "billed"
    REJECTED = "rejected"


class BillRunState(models.TextChoices):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"

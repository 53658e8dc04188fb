from django.db import models


class BillState(models.TextChoices):
    NEW = "new"
    VALIDATED = "validated"
    SENT = "sent"
    PARTIALLY_PAID = "partiallyPaid"
    SETTLED = "settled"
    ON_HOLD = "onHold"


# A customer may pay before the bill is sent: payments move new and validated bills too.
BILL_TRANSITIONS = {
    BillState.NEW: {
        BillState.VALIDATED,
        BillState.PARTIALLY_PAID,
        BillState.SETTLED,
        BillState.ON_HOLD,
    },
    BillState.VALIDATED: {
        BillState.SENT,
        BillState.PARTIALLY_PAID,
        BillState.SETTLED,
        BillState.ON_HOLD,
    },
    BillState.SENT: {BillState.PARTIALLY_PAID, BillState.SETTLED, BillState.ON_HOLD},
    BillState.PARTIALLY_PAID: {BillState.SETTLED, BillState.ON_HOLD},
    BillState.ON_HOLD: {BillState.VALIDATED, BillState.SENT},
    BillState.SETTLED: set(),
}


# Bills a payment is allocated to; a bill on hold (disputed) waits until it is released.
PAYABLE_BILL_STATES = (
    BillState.NEW,
    BillState.VALIDATED,
    BillState.SENT,
    BillState.PARTIALLY_PAID,
)


class PaymentState(models.TextChoices):
    # Part of the amount is still unallocated: account credit, applied to the next bills.
    RECEIVED = "received"
    # The whole amount is allocated to bills.
    ALLOCATED = "allocated"


PAYMENT_TRANSITIONS = {
    PaymentState.RECEIVED: {PaymentState.ALLOCATED},
    PaymentState.ALLOCATED: set(),
}


class PaymentMethodType(models.TextChoices):
    CASH = "cash"
    CARD = "card"
    BANK_TRANSFER = "bankTransfer"
    DIRECT_DEBIT = "directDebit"
    VOUCHER = "voucher"


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

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
    # Back to sent (unpaid): the payments that paid part of it were reversed or refunded.
    BillState.PARTIALLY_PAID: {BillState.SETTLED, BillState.ON_HOLD, BillState.SENT},
    BillState.ON_HOLD: {BillState.VALIDATED, BillState.SENT},
    # A settled bill re-opens when a payment that paid it bounces or is refunded.
    BillState.SETTLED: {BillState.PARTIALLY_PAID, BillState.SENT},
}


# The states a client (finance) may set on a bill through TMF678 PATCH; partiallyPaid and
# settled follow from the payments recorded, and new is where every bill starts.
CLIENT_SETTABLE_BILL_STATES = (BillState.VALIDATED, BillState.SENT, BillState.ON_HOLD)


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
    # The whole amount was paid back to the customer (TMF676 refund).
    REFUNDED = "refunded"
    # The money never arrived (a bounced direct debit): its allocations are undone.
    REVERSED = "reversed"


PAYMENT_TRANSITIONS = {
    PaymentState.RECEIVED: {PaymentState.ALLOCATED, PaymentState.REFUNDED, PaymentState.REVERSED},
    # A refund of part of an allocated payment keeps it allocated.
    PaymentState.ALLOCATED: {PaymentState.REFUNDED, PaymentState.REVERSED},
    PaymentState.REFUNDED: set(),
    PaymentState.REVERSED: set(),
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


class UsageRejectionReason(models.TextChoices):
    """Why a stored usage record will not be charged (TMF635 status `rejected`)."""

    MISSING_ATTRIBUTE = "missingAttribute"
    UNKNOWN_UNIT = "unknownUnit"
    UNKNOWN_SERVICE = "unknownService"
    NO_BILLABLE_PRODUCT = "noBillableProduct"
    UNPRICED_RATING_GROUP = "unpricedRatingGroup"
    # A value that is not what its field holds (a volume that is no number, a date that is no
    # date, an unknown usage specification): only a corrected resend can charge it.
    INVALID_VALUE = "invalidValue"
    # The same eventId as a stored record, with different content: kept here, never charged.
    DUPLICATE_EVENT_CONFLICT = "duplicateEventConflict"


# Rejections a fix of the reference data (a service, a product's dates, a price) may cure, so
# `usage_reprocess` tries them again; the others need a resend from the network.
REPROCESSABLE_REJECTIONS = (
    UsageRejectionReason.MISSING_ATTRIBUTE,
    UsageRejectionReason.UNKNOWN_UNIT,
    UsageRejectionReason.UNKNOWN_SERVICE,
    UsageRejectionReason.NO_BILLABLE_PRODUCT,
    UsageRejectionReason.UNPRICED_RATING_GROUP,
)


class UsageIngestOutcome(models.TextChoices):
    """What a batch did with one record."""

    CREATED = "created"  # stored: received (chargeable) or rejected with the reason
    REPLAY = "replay"  # the same eventId and content as a stored record: nothing new
    CONFLICT = "conflict"  # the same eventId, different content: kept apart, never charged


class BillOnDemandState(models.TextChoices):
    """TMF678 CustomerBillOnDemand `state` (the spec's StateValues)."""

    IN_PROGRESS = "inProgress"
    DONE = "done"
    # Nothing to bill: no billable product, or every ended period already has its bill.
    REJECTED = "rejected"
    # Billing refused the account (e.g. a price in another currency): the reason says why.
    TERMINATED_WITH_ERROR = "terminatedWithError"


BILL_ON_DEMAND_TRANSITIONS = {
    BillOnDemandState.IN_PROGRESS: {
        BillOnDemandState.DONE,
        BillOnDemandState.REJECTED,
        BillOnDemandState.TERMINATED_WITH_ERROR,
    },
    BillOnDemandState.DONE: set(),
    BillOnDemandState.REJECTED: set(),
    BillOnDemandState.TERMINATED_WITH_ERROR: set(),
}


class BillRunState(models.TextChoices):
    RUNNING = "running"
    COMPLETED = "completed"
    # Walked every account, but some could not be billed (BillRunFailure says which and why):
    # a resume tries them again.
    COMPLETED_WITH_ERRORS = "completedWithErrors"
    # Stopped before the end (worker lost, database down): a resume carries it on.
    FAILED = "failed"


class DunningActionType(models.TextChoices):
    """What a dunning step does to an overdue bill's customer."""

    REMINDER = "reminder"
    SECOND_REMINDER = "secondReminder"
    # A TMF622 order suspending the account's active products (reason nonPayment).
    SUSPEND = "suspend"
    # A TMF622 order terminating them (optional, last).
    TERMINATE = "terminate"


class DunningActionState(models.TextChoices):
    PENDING = "pending"
    DONE = "done"
    # The action could not be carried out (no product to suspend, the order was refused).
    FAILED = "failed"


class DunningCloseReason(models.TextChoices):
    PAID = "paid"
    CREDITED = "credited"
    # What is left is below the policy's minimum amount.
    BELOW_MINIMUM = "belowMinimum"
    ON_HOLD = "onHold"


class CreditNoteState(models.TextChoices):
    # Above the approval threshold: waits for a second finance user (or an admin).
    PENDING_APPROVAL = "pendingApproval"
    # Issued: applied to the bill it credits, the rest account credit.
    APPROVED = "approved"
    REJECTED = "rejected"


CREDIT_NOTE_TRANSITIONS = {
    CreditNoteState.PENDING_APPROVAL: {CreditNoteState.APPROVED, CreditNoteState.REJECTED},
    CreditNoteState.APPROVED: set(),
    CreditNoteState.REJECTED: set(),
}


class CreditNoteReason(models.TextChoices):
    BILLING_ERROR = "billingError"
    GOODWILL = "goodwill"
    SERVICE_OUTAGE = "serviceOutage"
    DISPUTE = "dispute"
    OTHER = "other"


class CaseKind(models.TextChoices):
    """What a revenue-assurance or fraud case is about (its class)."""

    # Network vs inventory.
    ORPHAN_CONFIG = "orphanConfig"  # on an element, with no active service (a failed undo)
    CONFIG_MISSING = "configMissing"  # an active service the element does not hold
    CONFIG_DRIFT = "configDrift"  # the element holds it with other settings
    # Inventory vs billing.
    ACTIVE_NOT_BILLABLE = "activeNotBillable"  # the seeds' leakage: delivered, never charged
    BILLABLE_NOT_ACTIVE = "billableNotActive"  # charged, not delivered
    PRICE_MISMATCH = "priceMismatch"  # billed at a price that is not the catalog's in force
    RECURRING_MISSING = "recurringMissing"  # a billed period without its recurring charge
    # Mediation vs billing.
    USAGE_NOT_RATED = "usageNotRated"  # received, never rated or billed
    USAGE_REJECTED = "usageRejected"  # rejected usage of a day, by cause
    # Fraud.
    FRAUD_USAGE_SPIKE = "fraudUsageSpike"
    FRAUD_HIGH_COST = "fraudHighCost"
    FRAUD_SIM_BOX = "fraudSimBox"


FRAUD_CASE_KINDS = (CaseKind.FRAUD_USAGE_SPIKE, CaseKind.FRAUD_HIGH_COST, CaseKind.FRAUD_SIM_BOX)


class CaseState(models.TextChoices):
    OPEN = "open"
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"
    # A known difference the business accepts (a test line, a courtesy service): found again,
    # it stays accepted and is not reported as new.
    ACCEPTED = "accepted"


CASE_TRANSITIONS = {
    CaseState.OPEN: {CaseState.INVESTIGATING, CaseState.RESOLVED, CaseState.ACCEPTED},
    CaseState.INVESTIGATING: {CaseState.OPEN, CaseState.RESOLVED, CaseState.ACCEPTED},
    # A resolved difference found again re-opens its own case (never a second one).
    CaseState.RESOLVED: {CaseState.OPEN},
    CaseState.ACCEPTED: {CaseState.OPEN, CaseState.RESOLVED},
}

# The states in which a case still needs someone.
CASE_ACTIVE_STATES = (CaseState.OPEN, CaseState.INVESTIGATING)


class CaseEventType(models.TextChoices):
    FOUND = "found"  # opened, or found again after it was resolved
    SEEN = "seen"  # found again by a later run (amount or evidence may change)
    GONE = "gone"  # a run no longer finds it: closed with a note
    STATE = "state"  # someone moved it
    ASSIGNED = "assigned"
    NOTE = "note"
    ACTION = "action"  # an action taken from the case (start billing, remove config, re-rate, bar)


class ReconciliationRunState(models.TextChoices):
    RUNNING = "running"
    COMPLETED = "completed"
    # Stopped before the end (worker lost, element manager down): a resume carries it on.
    FAILED = "failed"


class FraudRuleCode(models.TextChoices):
    USAGE_SPIKE = "usageSpike"
    HIGH_COST = "highCost"
    SIM_BOX = "simBox"

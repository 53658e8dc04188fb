from datetime import timedelta

from django.db import models


class PartyKind(models.TextChoices):
    INDIVIDUAL = "individual"
    ORGANIZATION = "organization"


class CustomerStatus(models.TextChoices):
    INITIALIZED = "initialized"
    APPROVED = "approved"
    VALIDATED = "validated"
    CLOSED = "closed"


class Segment(models.TextChoices):
    CONSUMER = "consumer"
    SMALL_BUSINESS = "smallBusiness"
    ENTERPRISE = "enterprise"


class AccountState(models.TextChoices):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


ACCOUNT_TRANSITIONS = {
    AccountState.ACTIVE: {AccountState.SUSPENDED, AccountState.CLOSED},
    AccountState.SUSPENDED: {AccountState.ACTIVE, AccountState.CLOSED},
    AccountState.CLOSED: set(),
}


class AccountKind(models.TextChoices):
    """The TMF666 accounts that are not billing accounts, kept in one table (`crm.Account`)."""

    PARTY = "partyAccount"
    SETTLEMENT = "settlementAccount"
    FINANCIAL = "financialAccount"


class BillingFrequency(models.TextChoices):
    """How often a bill cycle comes round: bill runs cut monthly, on the cycle's day."""

    MONTHLY = "monthly"


# The standard reference rows the data migration seeds: formats, presentation media, and a
# monthly cycle for every day 1-28 (named by `cycle_specification_name`).
STANDARD_BILL_FORMATS = {
    "detailed": "Every charge, usage record and credit on its own line.",
    "summary": "One line per product and a total per charge type.",
}
STANDARD_PRESENTATION_MEDIA = {
    "email": "A PDF attached to an email to the billing contact.",
    "paper": "A printed bill sent by post.",
    "portal": "Published in the customer's self-care portal.",
}


# Day 29-31 would not exist in every month: bills are cut on day 1 to 28. The one home of the
# rule: the services (`crm.services.check_bill_cycle_day`) and the API fields read it here.
FIRST_BILL_CYCLE_DAY = 1
LAST_BILL_CYCLE_DAY = 28
BILL_CYCLE_DAYS = range(FIRST_BILL_CYCLE_DAY, LAST_BILL_CYCLE_DAY + 1)


def cycle_specification_name(day: int) -> str:
    return f"Monthly, day {day}"


class PaymentMethod(models.TextChoices):
    DIRECT_DEBIT = "directDebit"
    CARD = "card"
    BANK_TRANSFER = "bankTransfer"


class TicketType(models.TextChoices):
    COMPLAINT = "complaint"
    INQUIRY = "inquiry"
    SERVICE_REQUEST = "serviceRequest"
    FAULT = "fault"


class TicketSeverity(models.TextChoices):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"


class TicketStatus(models.TextChoices):
    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"
    PENDING = "pending"
    HELD = "held"
    IN_PROGRESS = "inProgress"
    CANCELLED = "cancelled"
    RESOLVED = "resolved"
    CLOSED = "closed"


TICKET_TRANSITIONS = {
    TicketStatus.ACKNOWLEDGED: {
        TicketStatus.IN_PROGRESS,
        TicketStatus.REJECTED,
        TicketStatus.CANCELLED,
    },
    TicketStatus.IN_PROGRESS: {
        TicketStatus.PENDING,
        TicketStatus.HELD,
        TicketStatus.RESOLVED,
        TicketStatus.CANCELLED,
    },
    TicketStatus.PENDING: {TicketStatus.IN_PROGRESS, TicketStatus.CANCELLED},
    TicketStatus.HELD: {TicketStatus.IN_PROGRESS, TicketStatus.CANCELLED},
    # Back to inProgress is a reopen: the customer says the fix did not hold.
    TicketStatus.RESOLVED: {TicketStatus.CLOSED, TicketStatus.IN_PROGRESS},
    TicketStatus.CLOSED: set(),
    TicketStatus.REJECTED: set(),
    TicketStatus.CANCELLED: set(),
}

# A ticket still being worked on (the others are finished, one way or another).
OPEN_TICKET_STATUSES = (
    TicketStatus.ACKNOWLEDGED,
    TicketStatus.IN_PROGRESS,
    TicketStatus.PENDING,
    TicketStatus.HELD,
)

# How long the operator has to respond (first move out of acknowledged) and to resolve.
TICKET_DEADLINES = {
    TicketSeverity.CRITICAL: {"respond": timedelta(hours=1), "resolve": timedelta(hours=4)},
    TicketSeverity.MAJOR: {"respond": timedelta(hours=4), "resolve": timedelta(hours=24)},
    TicketSeverity.MINOR: {"respond": timedelta(hours=24), "resolve": timedelta(hours=72)},
}

# The priority a ticket gets when the caller gives none (1 is the most urgent).
TICKET_DEFAULT_PRIORITY = {
    TicketSeverity.CRITICAL: 1,
    TicketSeverity.MAJOR: 2,
    TicketSeverity.MINOR: 3,
}

# What a ticket may point at up the stack: an id and a type, never a foreign key.
# A ServiceProblem is a network incident (TMF656), linked by assurance (see
# TICKET_RELATED_LOOKUP).
TICKET_RELATED_ENTITY_TYPES = (
    "Service",
    "Product",
    "ProductOrder",
    "CustomerBill",
    "ServiceProblem",
)

# The extension point (telco.panels lookups) a new ticket asks for what else it relates to:
# each function takes the customer id and returns TMF related entities (assurance answers with
# the incidents affecting the customer now).
TICKET_RELATED_LOOKUP = "crm.ticket_related_entities"


class MediumType(models.TextChoices):
    """TMF632 contactMedium.mediumType values we keep."""

    EMAIL = "email"
    PHONE = "phone"
    MOBILE = "mobile"
    POSTAL_ADDRESS = "postalAddress"


# Media that answer the same question ("how do we call them?") share one preferred entry.
MEDIUM_GROUPS = {
    MediumType.EMAIL: "email",
    MediumType.PHONE: "phone",
    MediumType.MOBILE: "phone",
    MediumType.POSTAL_ADDRESS: "postalAddress",
}


class IdentificationType(models.TextChoices):
    """TMF632 individualIdentification / organizationIdentification types."""

    PASSPORT = "passport"
    NATIONAL_ID = "nationalId"
    DRIVING_LICENCE = "drivingLicence"
    COMPANY_REGISTRATION = "companyRegistration"
    VAT = "vat"


INDIVIDUAL_IDENTIFICATION_TYPES = (
    IdentificationType.PASSPORT,
    IdentificationType.NATIONAL_ID,
    IdentificationType.DRIVING_LICENCE,
)
ORGANIZATION_IDENTIFICATION_TYPES = (
    IdentificationType.COMPANY_REGISTRATION,
    IdentificationType.VAT,
)


class ContactType(models.TextChoices):
    """The role of a billing account contact (TMF666 contact.contactType)."""

    BILLING = "billing"
    PRIMARY = "primary"
    TECHNICAL = "technical"
    LEGAL = "legal"


class InteractionChannel(models.TextChoices):
    PHONE = "phone"
    EMAIL = "email"
    VISIT = "visit"
    CHAT = "chat"
    NOTIFICATION = "notification"


# Channels an agent or a client records; notifications are recorded by the server as it sends
# them.
LOGGED_CHANNELS = tuple(c for c in InteractionChannel if c != InteractionChannel.NOTIFICATION)


class InteractionDirection(models.TextChoices):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class InteractionStatus(models.TextChoices):
    """A logged contact is completed; a notification is sent, or failed with its error."""

    COMPLETED = "completed"
    SENT = "sent"
    FAILED = "failed"


# What an interaction may be about: anything a ticket may, and tickets themselves.
INTERACTION_RELATED_ENTITY_TYPES = (*TICKET_RELATED_ENTITY_TYPES, "TroubleTicket", "Incident")

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


class PaymentMethod(models.TextChoices):
    DIRECT_DEBIT = "directDebit"
    CARD = "card"
    BANK_TRANSFER = "bankTransfer"

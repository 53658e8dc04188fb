"""Customers and who they are: parties, contact media and identifications, customers, billing
accounts, interactions and trouble tickets."""

from django.db import models
from django.db.models import Q

from crm.choices import (
    AccountKind,
    AccountState,
    BillingFrequency,
    ContactType,
    CustomerStatus,
    IdentificationType,
    InteractionChannel,
    InteractionDirection,
    InteractionStatus,
    MediumType,
    PartyKind,
    PaymentMethod,
    Segment,
    TicketSeverity,
    TicketStatus,
    TicketType,
)
from telco import clock
from telco.money import currency_field, money_field
from telco.states import StateChange


class Party(models.Model):
    """A person or an organization (TMF632).

    `email`, `phone` and the address fields are the preferred contact media, kept here by the
    services (`crm.services`) from the `ContactMedium` rows so that search, the trigram indexes
    and every page read one row.
    """

    kind = models.CharField(max_length=12, choices=PartyKind.choices)
    given_name = models.CharField(max_length=80, blank=True)
    family_name = models.CharField(max_length=80, blank=True)
    organization_name = models.CharField(max_length=160, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    street = models.CharField(max_length=160, blank=True)
    city = models.CharField(max_length=80, blank=True)
    postcode = models.CharField(max_length=16, blank=True)
    country = models.CharField(max_length=2, default="GB")
    created_at = models.DateTimeField(default=clock.now)
    last_update = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name_plural = "parties"
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="individual", family_name__gt="")
                | Q(kind="organization", organization_name__gt=""),
                name="party_has_name",
            )
        ]
        indexes = [models.Index(fields=["email"]), models.Index(fields=["phone"])]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.kind == PartyKind.ORGANIZATION:
            return self.organization_name
        return f"{self.given_name} {self.family_name}".strip()

    @property
    def referred_type(self) -> str:
        return "Organization" if self.kind == PartyKind.ORGANIZATION else "Individual"


def _valid_for_check(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(valid_to__isnull=True)
        | Q(valid_from__isnull=True)
        | Q(valid_to__gt=models.F("valid_from")),
        name=name,
    )


class ContactMedium(models.Model):
    """One way to reach a party (TMF632 contactMedium): email, phone, mobile or postal address."""

    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="contact_media")
    medium_type = models.CharField(max_length=16, choices=MediumType.choices)
    preferred = models.BooleanField(default=False)
    contact_type = models.CharField(max_length=32, blank=True)
    email_address = models.EmailField(blank=True)
    phone_number = models.CharField(max_length=32, blank=True)
    street1 = models.CharField(max_length=160, blank=True)
    street2 = models.CharField(max_length=160, blank=True)
    city = models.CharField(max_length=80, blank=True)
    post_code = models.CharField(max_length=16, blank=True)
    state_or_province = models.CharField(max_length=80, blank=True)
    country = models.CharField(max_length=2, blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "contact media"
        constraints = [
            models.UniqueConstraint(
                fields=["party", "medium_type"],
                condition=Q(preferred=True),
                name="contact_medium_one_preferred_per_type",
            ),
            models.CheckConstraint(
                condition=Q(medium_type__in=MediumType.values), name="contact_medium_type_known"
            ),
            _valid_for_check("contact_medium_valid_for_ordered"),
        ]

    def __str__(self):
        return f"{self.medium_type}: {self.value}"

    @property
    def value(self) -> str:
        """The medium as one line of text."""
        if self.medium_type == MediumType.EMAIL:
            return self.email_address
        if self.medium_type in (MediumType.PHONE, MediumType.MOBILE):
            return self.phone_number
        parts = [self.street1, self.street2, self.post_code, self.city, self.country]
        return ", ".join(p for p in parts if p)


class PartyIdentification(models.Model):
    """A document that identifies a party (TMF632 individual/organizationIdentification).

    The same document (type, number, issuer) identifies one party only.
    """

    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="identifications")
    identification_type = models.CharField(max_length=24, choices=IdentificationType.choices)
    identification_id = models.CharField(max_length=64)
    issuing_authority = models.CharField(max_length=120, blank=True)
    issuing_country = models.CharField(max_length=2, blank=True)
    issuing_date = models.DateField(null=True, blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "identification_type",
                    "identification_id",
                    "issuing_authority",
                    "issuing_country",
                ],
                name="party_identification_unique_document",
            ),
            models.CheckConstraint(
                condition=Q(identification_type__in=IdentificationType.values),
                name="party_identification_type_known",
            ),
            _valid_for_check("party_identification_valid_for_ordered"),
        ]

    def __str__(self):
        return f"{self.identification_type} {self.identification_id}"


class Customer(models.Model):
    """A party in its role as the operator's customer (TMF629)."""

    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="customer_roles")
    name = models.CharField(max_length=160)
    status = models.CharField(
        max_length=12, choices=CustomerStatus.choices, default=CustomerStatus.APPROVED
    )
    segment = models.CharField(max_length=16, choices=Segment.choices, default=Segment.CONSUMER)
    created_at = models.DateTimeField(default=clock.now)
    last_update = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [models.Index(fields=["name"])]

    def __str__(self):
        return self.name


class CreditProfile(models.Model):
    """A credit assessment of a customer (TMF629 creditProfile): score and risk rating."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="credit_profiles")
    credit_profile_date = models.DateTimeField(default=clock.now)
    # 0-999 as UK bureaus score; the risk rating is 1 (lowest risk) to 5.
    credit_score = models.PositiveSmallIntegerField()
    credit_risk_rating = models.PositiveSmallIntegerField()
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(credit_score__lte=999), name="credit_profile_score_0_to_999"
            ),
            models.CheckConstraint(
                condition=Q(credit_risk_rating__gte=1, credit_risk_rating__lte=5),
                name="credit_profile_rating_1_to_5",
            ),
            _valid_for_check("credit_profile_valid_for_ordered"),
        ]

    def __str__(self):
        return f"score {self.credit_score}, risk {self.credit_risk_rating}"


class BillingCycleSpecification(models.Model):
    """When bills are cut (TMF666 billingCycleSpecification): the day of the month
    (`billing_date_shift`) and the offsets that follow it.

    An account's `bill_cycle_day` is the day of the cycle specification it references. A
    specification without a day can be stored (the spec makes it optional) but no account can
    use it; the day and frequency of one in use do not change (`crm.services`).
    """

    name = models.CharField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    billing_date_shift = models.PositiveSmallIntegerField(null=True, blank=True)
    billing_period = models.CharField(max_length=40, blank=True)
    frequency = models.CharField(
        max_length=16, choices=BillingFrequency.choices, default=BillingFrequency.MONTHLY
    )
    charge_date_offset = models.SmallIntegerField(null=True, blank=True)
    credit_date_offset = models.SmallIntegerField(null=True, blank=True)
    mailing_date_offset = models.SmallIntegerField(null=True, blank=True)
    payment_due_date_offset = models.SmallIntegerField(null=True, blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Day 29-31 would not exist in every month; operators cut on 1-28.
            models.CheckConstraint(
                condition=Q(billing_date_shift__isnull=True)
                | Q(billing_date_shift__gte=1, billing_date_shift__lte=28),
                name="cycle_specification_day_1_to_28",
            ),
            models.CheckConstraint(
                condition=Q(frequency__in=BillingFrequency.values),
                name="cycle_specification_frequency_known",
            ),
            _valid_for_check("cycle_specification_valid_for_ordered"),
        ]

    def __str__(self):
        return self.name


class BillFormat(models.Model):
    """How a bill is laid out (TMF666 billFormat), e.g. detailed or summary."""

    name = models.CharField(max_length=80, unique=True)
    description = models.TextField(blank=True)

    def __str__(self):
        return self.name


class BillPresentationMedia(models.Model):
    """How a bill reaches the customer (TMF666 billPresentationMedia), e.g. email or paper."""

    name = models.CharField(max_length=80, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "bill presentation media"

    def __str__(self):
        return self.name


class BillingAccount(models.Model):
    """Where a customer's charges are billed (TMF666 billingAccount).

    `bill_cycle_day` (what billing reads) is kept equal to the day of `cycle_specification` by
    the services; rows loaded in bulk without a specification keep their day alone.
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="accounts")
    account_number = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=160)
    currency = currency_field()
    bill_cycle_day = models.PositiveSmallIntegerField(default=1)
    cycle_specification = models.ForeignKey(
        BillingCycleSpecification,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="billing_accounts",
    )
    bill_format = models.ForeignKey(
        BillFormat, on_delete=models.PROTECT, null=True, blank=True, related_name="billing_accounts"
    )
    presentation_media = models.ManyToManyField(
        BillPresentationMedia, blank=True, related_name="billing_accounts"
    )
    payment_method = models.CharField(
        max_length=16, choices=PaymentMethod.choices, default=PaymentMethod.DIRECT_DEBIT
    )
    credit_limit = money_field(default=0)
    state = models.CharField(max_length=12, choices=AccountState.choices, default="active")
    created_at = models.DateTimeField(default=clock.now)
    last_update = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            # Day 29-31 would not exist in every month; operators cut on 1-28.
            models.CheckConstraint(
                condition=Q(bill_cycle_day__gte=1, bill_cycle_day__lte=28),
                name="bill_cycle_day_1_to_28",
            )
        ]

    def __str__(self):
        return f"{self.account_number} {self.name}"


class BillingAccountStateChange(StateChange):
    """History of an account's state moves (active, suspended, closed)."""

    account = models.ForeignKey(BillingAccount, on_delete=models.CASCADE, related_name="history")


class BillingAccountContact(models.Model):
    """Whom to address about an account (TMF666 contact): a name, a role and contact media."""

    account = models.ForeignKey(BillingAccount, on_delete=models.CASCADE, related_name="contacts")
    contact_name = models.CharField(max_length=160)
    contact_type = models.CharField(max_length=16, choices=ContactType.choices)
    party_role_type = models.CharField(max_length=40, blank=True)
    # TMF632 contactMedium entries as the API carries them, checked by the service; nothing
    # searches them, so they stay one document.
    contact_medium = models.JSONField(default=list, blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [_valid_for_check("account_contact_valid_for_ordered")]

    def __str__(self):
        return f"{self.contact_name} ({self.contact_type})"


class Account(models.Model):
    """A TMF666 party, settlement or financial account, told apart by `kind`.

    The three share every column they use, so one table serves them: a party account is what
    a party (customer or partner) holds with the operator, a settlement account is one whose
    balance is settled with a partner, and a financial account groups the balances of the
    others (`financial_account`). Only party and settlement accounts have an owner, a bill
    structure, a payment method and a financial account. `contacts`, `tax_exemptions`,
    `payment_plans` and `relationships` are TMF666 documents as the API carries them, checked by
    the serializer; nothing searches them.
    """

    kind = models.CharField(max_length=20, choices=AccountKind.choices)
    name = models.CharField(max_length=160)
    description = models.TextField(blank=True)
    account_type = models.CharField(max_length=40, blank=True)
    state = models.CharField(
        max_length=12, choices=AccountState.choices, default=AccountState.ACTIVE
    )
    payment_status = models.CharField(max_length=40, blank=True)
    party = models.ForeignKey(
        Party, on_delete=models.PROTECT, null=True, blank=True, related_name="owned_accounts"
    )
    currency = currency_field()
    credit_limit = money_field(null=True, blank=True)
    payment_method = models.CharField(max_length=16, choices=PaymentMethod.choices, blank=True)
    financial_account = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="member_accounts"
    )
    cycle_specification = models.ForeignKey(
        BillingCycleSpecification,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accounts",
    )
    bill_format = models.ForeignKey(
        BillFormat, on_delete=models.PROTECT, null=True, blank=True, related_name="accounts"
    )
    presentation_media = models.ManyToManyField(
        BillPresentationMedia, blank=True, related_name="accounts"
    )
    contacts = models.JSONField(default=list, blank=True)
    tax_exemptions = models.JSONField(default=list, blank=True)
    payment_plans = models.JSONField(default=list, blank=True)
    relationships = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    last_update = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=AccountKind.values), name="account_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(state__in=AccountState.values), name="account_state_known"
            ),
            models.CheckConstraint(
                condition=Q(credit_limit__isnull=True) | Q(credit_limit__gte=0),
                name="account_credit_limit_not_negative",
            ),
            # A party or settlement account has an owner (TMF666 requires relatedParty).
            models.CheckConstraint(
                condition=Q(kind=AccountKind.FINANCIAL) | Q(party__isnull=False),
                name="account_owned_unless_financial",
            ),
        ]
        indexes = [models.Index(fields=["kind", "id"])]

    def __str__(self):
        return f"{self.kind} {self.name}"


class AccountStateChange(StateChange):
    """History of a party, settlement or financial account's state moves."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="history")


class PartyInteraction(models.Model):
    """A contact with the customer (TMF683 partyInteraction): a call, email, visit, chat, or
    an outbound notification with its delivery status."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="interactions")
    channel = models.CharField(max_length=16, choices=InteractionChannel.choices)
    direction = models.CharField(max_length=8, choices=InteractionDirection.choices)
    status = models.CharField(
        max_length=12, choices=InteractionStatus.choices, default=InteractionStatus.COMPLETED
    )
    reason = models.CharField(max_length=160)
    subject = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    # A notification's address and, when it could not be sent, why.
    recipient = models.CharField(max_length=254, blank=True)
    error = models.TextField(blank=True)
    interaction_date = models.DateTimeField(default=clock.now)
    end_date = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    # TMF refs [{id, @referredType, name}] (tickets, services, products, bills, incidents).
    related_entities = models.JSONField(default=list, blank=True)
    # [{author, date, text}], appended to, never rewritten.
    notes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=InteractionChannel.values),
                name="interaction_channel_known",
            ),
            models.CheckConstraint(
                condition=Q(direction__in=InteractionDirection.values),
                name="interaction_direction_known",
            ),
            models.CheckConstraint(
                condition=Q(status__in=InteractionStatus.values), name="interaction_status_known"
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-interaction_date"], name="crm_interaction_timeline")
        ]

    def __str__(self):
        return f"{self.channel} {self.direction}: {self.reason}"


class TroubleTicket(models.Model):
    """A customer's problem or request and its handling (TMF621 troubleTicket)."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="trouble_tickets")
    name = models.CharField(max_length=160, blank=True)
    description = models.TextField()
    ticket_type = models.CharField(max_length=16, choices=TicketType.choices)
    severity = models.CharField(max_length=12, choices=TicketSeverity.choices)
    priority = models.PositiveSmallIntegerField(default=3)
    status = models.CharField(
        max_length=16, choices=TicketStatus.choices, default=TicketStatus.ACKNOWLEDGED
    )
    status_change_reason = models.TextField(blank=True)
    assignee = models.CharField(max_length=150, blank=True)
    # TMF refs [{id, @referredType, name}] to services, products, orders, bills: the apps above
    # CRM own those rows, so a ticket keeps their id and type, not a foreign key.
    related_entities = models.JSONField(default=list, blank=True)
    # [{author, date, text}], appended to, never rewritten.
    notes = models.JSONField(default=list, blank=True)
    expected_response_date = models.DateTimeField()
    expected_resolution_date = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)
    resolution_date = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    last_update = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(priority__gte=1, priority__lte=4), name="ticket_priority_1_to_4"
            ),
            models.CheckConstraint(
                condition=Q(severity__in=TicketSeverity.values), name="ticket_severity_known"
            ),
            models.CheckConstraint(
                condition=Q(status__in=TicketStatus.values), name="ticket_status_known"
            ),
        ]
        indexes = [models.Index(fields=["status", "severity"])]

    def __str__(self):
        return f"TT{self.pk} {self.name or self.description[:40]}"

    @property
    def is_response_breached(self) -> bool:
        """Responded after the deadline, or not yet responded and the deadline has passed."""
        return (self.responded_at or clock.now()) > self.expected_response_date

    @property
    def is_resolution_breached(self) -> bool:
        """Resolved after the deadline, or still open past it (a withdrawn ticket never is)."""
        if self.resolution_date is not None:
            return self.resolution_date > self.expected_resolution_date
        if self.status in (TicketStatus.CANCELLED, TicketStatus.REJECTED):
            return False
        return clock.now() > self.expected_resolution_date


class TroubleTicketStatusChange(StateChange):
    """History of a trouble ticket's status moves."""

    ticket = models.ForeignKey(TroubleTicket, on_delete=models.CASCADE, related_name="history")


class LabSmsMessage(models.Model):
    """An SMS the lab gateway (crm.sms.LabSmsGateway) "sent": the stand-in for an SMS provider,
    recorded so the demo and the tests can read what a customer received."""

    to = models.CharField(max_length=32)
    body = models.TextField()
    # The sender's idempotency key (a real gateway's client reference); not unique here, so a
    # duplicate send shows as two rows.
    message_id = models.CharField(max_length=200, blank=True, db_index=True)
    sent_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-sent_at", "-id"]

    def __str__(self):
        return f"SMS to {self.to}"

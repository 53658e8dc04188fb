"""Customer notifications: an email to the customer, recorded as an outbound interaction."""

import logging
import smtplib
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail

from crm.choices import InteractionChannel, InteractionDirection, InteractionStatus
from crm.models import Customer, PartyInteraction
from crm.services.interactions import party_interaction_create

logger = logging.getLogger(__name__)

# What a mail server or a connection to it raises; anything else is a bug and propagates.
MAIL_ERRORS = (smtplib.SMTPException, OSError)


def customer_notify(
    *,
    customer: Customer,
    subject: str,
    body: str,
    reason: str,
    by: str,
    related_entities: Iterable[dict] = (),
    connection=None,
) -> PartyInteraction:
    """Email the customer at their preferred address and record the outbound notification.

    The interaction is `sent`, or `failed` with the error (no email address, the mail server
    refused): a notification that could not go out is recorded, never raised. When notifying
    many, read the customers with their party (`select_related("party")`) and pass one open
    `django.core.mail.get_connection()` as `connection`, so the mail server is dialled once.
    """
    recipient = customer.party.email
    # A header cannot carry a line break (Django refuses it); the subject is one line.
    subject = " ".join(subject.split())[:200]
    status, error = InteractionStatus.SENT, ""
    if not recipient:
        status, error = InteractionStatus.FAILED, "The customer has no email address."
    else:
        try:
            send_mail(
                subject, body, settings.DEFAULT_FROM_EMAIL, [recipient], connection=connection
            )
        except MAIL_ERRORS as exc:
            status, error = InteractionStatus.FAILED, f"{type(exc).__name__}: {exc}"
            logger.warning("notification to customer %s failed: %s", customer.pk, error)
    return party_interaction_create(
        customer=customer,
        channel=InteractionChannel.NOTIFICATION,
        direction=InteractionDirection.OUTBOUND,
        reason=reason,
        subject=subject,
        description=body,
        related_entities=related_entities,
        status=status,
        recipient=recipient,
        error=error,
        by=by,
    )

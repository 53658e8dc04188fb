"""The customer hears it from us first: notices of an incident, exactly once.

`incident_confirmed(incident_id)` and `incident_resolved(incident_id)` are called by the incident
lifecycle (`assurance.correlation`) inside its transaction; they enqueue, once that commits, the
planning task (`assurance.plan_incident_notices`). Safe to call twice.

Planning (`notices_plan`) is set-based: one `INSERT ... SELECT ... ON CONFLICT DO NOTHING` creates
an `IncidentNotice` row per impacted customer (the incident's open `IncidentService` rows ->
products -> customers), kind and channel (email to the party's address, SMS to its number, and a
TMF621 trouble ticket for enterprise customers whose impacted product's offering has an SLA).
The unique constraint makes the row the claim: however often planning runs, there is one row.
The pending rows are then sent in batches of `INCIDENT_NOTICE_BATCH` (one task per batch).

Sending (`notices_send`) takes each row with `SELECT ... FOR UPDATE SKIP LOCKED`, re-checks it is
still pending, sends it, records the interaction on the customer's timeline and marks it sent in
the same transaction: two workers (or a task enqueued twice) never send a row twice; a worker
killed before the commit leaves it pending, and the sweep (`notices_resume`) sends it again.
The remaining window: the mail server (or SMS gateway) accepted the message and the process dies
before the commit (a few milliseconds); the resend then carries the same deterministic
Message-ID (`<incident-<id>.<customer>.<kind>.<channel>@domain>`), which mail clients and
gateways use to drop the duplicate. Transient errors (SMTP, gateway) leave the row pending with
its attempt count and error; the task retries with exponential backoff, then marks it failed.
Nothing is sent while the incident is under maintenance (`Incident.in_maintenance`); a confirmed
notice not yet sent when the incident resolves is skipped, and so is its resolution notice.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import CharField, F, IntegerField, Q, Value
from django.db.models.functions import Cast, Coalesce

from assurance.choices import OPEN_INCIDENT_STATES, IncidentState
from assurance.models import Incident, IncidentService
from assurance.models.notices import IncidentNotice, NoticeChannel, NoticeKind, NoticeState
from catalog import selectors as catalog_selectors
from crm import selectors as crm_selectors
from crm import services as crm_services
from crm.choices import (
    InteractionChannel,
    InteractionDirection,
    InteractionStatus,
    Segment,
    TicketSeverity,
    TicketStatus,
    TicketType,
)
from crm.sms import SmsError, sms_gateway
from telco import clock
from telco.exceptions import DomainError

logger = logging.getLogger(__name__)

BY = "assurance"
# The TMF type an interaction or a ticket names the incident by (TMF656 ServiceProblem).
INCIDENT_TYPE = "ServiceProblem"
TRANSIENT_ERRORS = (*crm_services.MAIL_ERRORS, SmsError)
NOTICE = IncidentNotice._meta.db_table
CLOSED_STATES = (IncidentState.RESOLVED, IncidentState.CLOSED)


def batch_size() -> int:
    return int(getattr(settings, "INCIDENT_NOTICE_BATCH", 200))


def message_domain() -> str:
    return getattr(settings, "INCIDENT_NOTICE_DOMAIN", "notices.telco.example")


# --- entry points (called by the incident lifecycle) ---------------------------------------


def incident_confirmed(incident_id: int) -> None:
    """Tell every impacted customer the incident is confirmed (enqueued once the caller commits)."""
    _enqueue_plan(incident_id, NoticeKind.CONFIRMED)


def incident_resolved(incident_id: int) -> None:
    """Tell every customer told of the incident that it is resolved, and resolve the tickets
    linked to it (enqueued once the caller commits)."""
    _enqueue_plan(incident_id, NoticeKind.RESOLVED)


def _enqueue_plan(incident_id: int, kind: str) -> None:
    from assurance import notice_tasks

    transaction.on_commit(
        lambda: notice_tasks.plan_incident_notices.delay(int(incident_id), str(kind))
    )


def enqueue_send(notice_ids: list[int]) -> None:
    """One send task per `INCIDENT_NOTICE_BATCH` notices (after the caller commits)."""
    from assurance import notice_tasks

    size = batch_size()
    batches = [notice_ids[i : i + size] for i in range(0, len(notice_ids), size)]
    for batch in batches:
        transaction.on_commit(lambda batch=batch: notice_tasks.send_incident_notices.delay(batch))


# --- planning --------------------------------------------------------------------------------


def impacted_customer_ids(incident_id: int):
    """The customers whose services the incident has down or degraded now (a subquery)."""
    return (
        IncidentService.objects.filter(incident_id=incident_id, ended_at__isnull=True)
        .annotate(
            customer=Coalesce(
                "service__product__customer_id", "service__parent__product__customer_id"
            )
        )
        .filter(customer__isnull=False)
        .values("customer")
    )


def sla_customer_ids(incident_id: int):
    """Impacted enterprise customers whose impacted product's offering carries an SLA."""
    return (
        IncidentService.objects.filter(incident_id=incident_id, ended_at__isnull=True)
        .filter(
            Q(
                service__product__customer__segment=Segment.ENTERPRISE,
                service__product__product_offering_id__in=catalog_selectors.offering_ids_with_sla(),
            )
            | Q(
                service__parent__product__customer__segment=Segment.ENTERPRISE,
                service__parent__product__product_offering_id__in=(
                    catalog_selectors.offering_ids_with_sla()
                ),
            )
        )
        .annotate(
            customer=Coalesce(
                "service__product__customer_id", "service__parent__product__customer_id"
            )
        )
        .values("customer")
    )


def _insert_claims(incident_id: int, kind: str, channel: str, customers, recipient) -> int:
    """INSERT one pending notice per customer of `customers` with a non-empty `recipient`
    (an expression on the customer row); existing rows are left alone. Returns rows created."""
    rows = (
        crm_selectors.customer_rows()
        .filter(pk__in=customers)
        .annotate(
            n_incident=Value(incident_id, output_field=IntegerField()),
            n_customer=F("pk"),
            n_kind=Value(kind, output_field=CharField()),
            n_channel=Value(channel, output_field=CharField()),
            n_state=Value(NoticeState.PENDING, output_field=CharField()),
            n_recipient=recipient,
        )
        .exclude(n_recipient="")
        .order_by()
        .values_list(
            "n_incident",
            "n_customer",
            "n_kind",
            "n_channel",
            "n_state",
            "n_recipient",
        )
    )
    select_sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {NOTICE} (incident_id, customer_id, kind, channel, state, recipient,
                    message_id, attempts, last_error, created_at)
                SELECT s.n_incident, s.n_customer, s.n_kind, s.n_channel, s.n_state,
                       s.n_recipient, %s || s.n_customer || %s, 0, '', %s
                FROM ({select_sql}) AS s
                ON CONFLICT DO NOTHING""",  # noqa: S608 - table from model metadata, the
            # SELECT compiled by the ORM; every value is a parameter
            [
                f"<incident-{incident_id}.",
                f".{kind}.{channel}@{message_domain()}>",
                clock.now(),
                *params,
            ],
        )
        return cursor.rowcount


def _insert_resolutions(incident_id: int) -> int:
    """One resolution notice per channel for every confirmed notice sent or still pending."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {NOTICE} (incident_id, customer_id, kind, channel, state, recipient,
                    message_id, attempts, last_error, created_at)
                SELECT incident_id, customer_id, %s, channel, %s, recipient,
                       replace(message_id, %s, %s), 0, '', %s
                FROM {NOTICE}
                WHERE incident_id = %s AND kind = %s AND channel <> %s AND state IN (%s, %s)
                ON CONFLICT DO NOTHING""",  # noqa: S608 - table from model metadata
            [
                NoticeKind.RESOLVED,
                NoticeState.PENDING,
                f".{NoticeKind.CONFIRMED}.",
                f".{NoticeKind.RESOLVED}.",
                clock.now(),
                incident_id,
                NoticeKind.CONFIRMED,
                NoticeChannel.TICKET,
                NoticeState.PENDING,
                NoticeState.SENT,
            ],
        )
        return cursor.rowcount


def notices_plan(incident_id: int, kind: str) -> list[int]:
    """Create the incident's notices of `kind` (once) and enqueue the pending ones in batches.
    Returns the ids enqueued. Under maintenance nothing is planned."""
    with transaction.atomic():
        incident = Incident.objects.filter(pk=incident_id).first()
        if incident is None or incident.in_maintenance:
            return []
        if kind == NoticeKind.CONFIRMED:
            if incident.confirmed_at is None or incident.state not in OPEN_INCIDENT_STATES:
                return []
            customers = impacted_customer_ids(incident_id)
            _insert_claims(incident_id, kind, NoticeChannel.EMAIL, customers, F("party__email"))
            _insert_claims(incident_id, kind, NoticeChannel.SMS, customers, F("party__phone"))
            _insert_claims(
                incident_id,
                kind,
                NoticeChannel.TICKET,
                sla_customer_ids(incident_id),
                Cast("pk", CharField()),
            )
        else:
            if incident.state not in CLOSED_STATES:
                return []
            _insert_resolutions(incident_id)
            linked_tickets_resolve(incident)
        pending = list(
            IncidentNotice.objects.filter(
                incident_id=incident_id, kind=kind, state=NoticeState.PENDING
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        enqueue_send(pending)
    return pending


# --- sending ---------------------------------------------------------------------------------


def notices_send(notice_ids: list[int]) -> list[int]:
    """Send each pending notice of `notice_ids` once (see the module docstring). Returns the ids
    that failed for a transient reason (still pending, to retry)."""
    mail = get_connection()
    gateway = sms_gateway()
    retry = []
    try:
        for notice_id in notice_ids:
            try:
                notice_send_one(notice_id, mail=mail, gateway=gateway)
            except TRANSIENT_ERRORS as exc:
                logger.warning("notice %s not sent: %s", notice_id, exc)
                notice_record_error(notice_id, f"{type(exc).__name__}: {exc}")
                retry.append(notice_id)
                mail.close()  # a broken conversation is not reused
    finally:
        mail.close()
    return retry


def _claim(notice_id: int) -> IncidentNotice | None:
    return (
        IncidentNotice.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("incident", "customer__party")
        .filter(pk=notice_id, state=NoticeState.PENDING)
        .first()
    )


def _skip_reason(notice: IncidentNotice) -> str:
    incident = notice.incident
    if incident.in_maintenance:
        return "The incident is under planned maintenance."
    if notice.kind == NoticeKind.CONFIRMED and incident.state not in OPEN_INCIDENT_STATES:
        return f"The incident is {incident.state}: no longer news."
    return ""


def notice_send_one(notice_id: int, *, mail=None, gateway=None) -> bool:
    """Send one notice if it is still pending and nobody else holds it; True if sent now.
    A transient error propagates (the transaction rolls back: the row stays pending)."""
    with transaction.atomic():
        notice = _claim(notice_id)
        if notice is None:
            return False
        reason = _skip_reason(notice)
        if not reason and notice.kind == NoticeKind.RESOLVED:
            confirmed = IncidentNotice.objects.filter(
                incident_id=notice.incident_id,
                customer_id=notice.customer_id,
                kind=NoticeKind.CONFIRMED,
                channel=notice.channel,
            ).values_list("state", flat=True)
            if list(confirmed) != [NoticeState.SENT]:
                reason = "The customer was not told of the incident."
        if reason:
            notice.state, notice.last_error = NoticeState.SKIPPED, reason
            notice.save(update_fields=["state", "last_error"])
            return False
        notice.attempts += 1
        if notice.channel == NoticeChannel.TICKET:
            ticket = incident_ticket_open(notice.incident, notice.customer)
            notice.message_id = f"TT{ticket.pk}"
        else:
            subject, body = notice_text(notice)
            if notice.channel == NoticeChannel.EMAIL:
                message = EmailMessage(
                    subject,
                    body,
                    settings.DEFAULT_FROM_EMAIL,
                    [notice.recipient],
                    headers={"Message-ID": notice.message_id},
                    connection=mail,
                )
                message.send()
            else:
                (gateway or sms_gateway()).send(
                    to=notice.recipient, body=f"{subject}. {body}", message_id=notice.message_id
                )
            interaction = crm_services.party_interaction_create(
                customer=notice.customer,
                channel=InteractionChannel.NOTIFICATION,
                direction=InteractionDirection.OUTBOUND,
                reason=f"incident{notice.kind.capitalize()}",
                subject=subject,
                description=body,
                related_entities=[incident_reference(notice.incident, "Incident")],
                status=InteractionStatus.SENT,
                recipient=notice.recipient,
                by=BY,
            )
            notice.interaction_id = interaction.pk
        notice.state, notice.sent_at, notice.last_error = NoticeState.SENT, clock.now(), ""
        notice.save(
            update_fields=[
                "state",
                "sent_at",
                "last_error",
                "attempts",
                "message_id",
                "interaction_id",
            ]
        )
        return True


def notice_record_error(notice_id: int, error: str) -> None:
    """Count a failed attempt and keep its error (the row stays pending)."""
    IncidentNotice.objects.filter(pk=notice_id, state=NoticeState.PENDING).update(
        attempts=F("attempts") + 1, last_error=error[:300]
    )


def notices_give_up(notice_ids: list[int]) -> int:
    """After the last retry: the notices still pending are failed (logged on the timeline)."""
    failed = 0
    for notice in IncidentNotice.objects.filter(
        pk__in=notice_ids, state=NoticeState.PENDING
    ).select_related("incident", "customer"):
        with transaction.atomic():
            if not IncidentNotice.objects.filter(pk=notice.pk, state=NoticeState.PENDING).update(
                state=NoticeState.FAILED
            ):
                continue
            subject, body = notice_text(notice)
            crm_services.party_interaction_create(
                customer=notice.customer,
                channel=InteractionChannel.NOTIFICATION,
                direction=InteractionDirection.OUTBOUND,
                reason=f"incident{notice.kind.capitalize()}",
                subject=subject,
                description=body,
                related_entities=[incident_reference(notice.incident, "Incident")],
                status=InteractionStatus.FAILED,
                recipient=notice.recipient,
                error=notice.last_error,
                by=BY,
            )
            failed += 1
    return failed


def notices_resume(*, older_than_seconds: float = 120) -> int:
    """The sweep (beat): re-enqueue notices left pending (a worker killed mid-send, a message
    the broker lost). Sending skips what another worker holds or already sent."""
    cutoff = clock.now() - timedelta(seconds=older_than_seconds)
    pending = list(
        IncidentNotice.objects.filter(state=NoticeState.PENDING, created_at__lte=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    with transaction.atomic():
        enqueue_send(pending)
    return len(pending)


# --- what the customer reads, and tickets ----------------------------------------------------


def incident_reference(incident: Incident, referred_type: str = INCIDENT_TYPE) -> dict:
    return {"id": str(incident.pk), "@referredType": referred_type, "name": f"INC{incident.pk}"}


def notice_text(notice: IncidentNotice) -> tuple[str, str]:
    """Subject and body of a notice (the SMS is both on one line)."""
    incident = notice.incident
    name = notice.customer.name
    if notice.kind == NoticeKind.CONFIRMED:
        subject = f"Service disruption: we are on it (INC{incident.pk})"
        lines = [
            f"Dear {name},",
            "",
            "a fault in our network is affecting your service since"
            f" {incident.first_alarm_time:%Y-%m-%d %H:%M} UTC. Our engineers are working on it.",
        ]
        if incident.expected_restore_time:
            lines.append(
                f"Expected restore time: {incident.expected_restore_time:%Y-%m-%d %H:%M} UTC."
            )
        lines.append("We will tell you as soon as it is restored.")
    else:
        subject = f"Service restored (INC{incident.pk})"
        lines = [
            f"Dear {name},",
            "",
            "the network fault that affected your service is repaired and service is restored.",
            "We are sorry for the disruption.",
        ]
    lines += ["", f"Reference: INC{incident.pk}", "Telco Care"]
    return subject, "\n".join(lines)


def incident_ticket_open(incident: Incident, customer):
    """The TMF621 trouble ticket opened for an enterprise customer under SLA (once: its
    notice row is the claim), related to the incident as a ServiceProblem."""
    return crm_services.trouble_ticket_create(
        customer=customer,
        name=f"Network incident INC{incident.pk}",
        description=(
            f"Opened automatically: incident INC{incident.pk} ({incident.name}) affects this"
            " customer's service under SLA."
        ),
        ticket_type=TicketType.FAULT,
        severity=TicketSeverity.CRITICAL,
        related_entities=[incident_reference(incident)],
        by=BY,
    )


def linked_tickets_resolve(incident: Incident) -> int:
    """Resolve every open ticket linked to the incident (opened automatically or by an agent)
    with a note. Returns how many were resolved."""
    note = f"Resolved with network incident INC{incident.pk}: service is restored."
    resolved = 0
    for ticket in crm_selectors.open_tickets_related_to(INCIDENT_TYPE, str(incident.pk)):
        try:
            if ticket.status != TicketStatus.IN_PROGRESS:
                ticket = crm_services.trouble_ticket_set_status(
                    ticket=ticket, status=TicketStatus.IN_PROGRESS, by=BY
                )
            crm_services.trouble_ticket_update(
                ticket=ticket,
                changes={
                    "status": TicketStatus.RESOLVED,
                    "status_change_reason": note,
                    "notes": [{"text": note}],
                },
                by=BY,
            )
        except DomainError as exc:
            logger.warning(
                "ticket %s not resolved with incident %s: %s", ticket.pk, incident.pk, exc
            )
            continue
        resolved += 1
    return resolved


def open_incidents_for_customer(customer_id: int):
    """Confirmed incidents still open that affect the customer's services now."""
    return (
        Incident.objects.filter(
            state__in=OPEN_INCIDENT_STATES,
            confirmed_at__isnull=False,
            impacts__ended_at__isnull=True,
        )
        .filter(
            Q(impacts__service__product__customer_id=customer_id)
            | Q(impacts__service__parent__product__customer_id=customer_id)
        )
        .distinct()
        .order_by("pk")
    )


def ticket_related_incidents(customer_id: int) -> list[dict]:
    """The lookup crm calls when a ticket is opened ("crm.ticket_related_entities"): the
    incidents affecting the customer now, as ServiceProblem related entities."""
    return [incident_reference(incident) for incident in open_incidents_for_customer(customer_id)]

"""Customer notices of an incident: exactly one e-mail and one SMS per impacted customer and
kind, counted at a real SMTP server (aiosmtpd on 127.0.0.1), with two real workers, a planning
task enqueued twice, transient SMTP refusals retried, and a worker killed mid-conversation."""

import time
from collections import Counter

import pytest
from django.db import transaction

from assurance import notices
from assurance.choices import IncidentState, ServiceImpact
from assurance.models import Incident, IncidentNotice, IncidentService
from assurance.models.notices import NoticeKind, NoticeState
from assurance.tests.factories import subscribe
from crm.models import LabSmsMessage, PartyInteraction
from inventory.tests.factories import GnbFactory
from telco import clock

CUSTOMERS = 12


def confirmed_incident(customers: int = CUSTOMERS) -> tuple[Incident, list]:
    gnb = GnbFactory()
    subscriptions = [subscribe(gnb) for _ in range(customers)]
    now = clock.now()
    incident = Incident.objects.create(
        name="gNB down",
        root_resource=gnb,
        first_alarm_time=now,
        confirmed_at=now,
        state=IncidentState.PENDING,
    )
    IncidentService.objects.bulk_create(
        IncidentService(
            incident=incident, service=s.service, impact=ServiceImpact.DOWN, started_at=now
        )
        for s in subscriptions
    )
    return incident, subscriptions


def wait_until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("timed out")
        time.sleep(0.1)


def settled() -> bool:
    return not IncidentNotice.objects.filter(state=NoticeState.PENDING).exists()


def assert_exactly_once(smtp, subscriptions, kind: str) -> None:
    emails = smtp.count_by_recipient()
    sms = Counter(LabSmsMessage.objects.filter(body__contains=kind).values_list("to", flat=True))
    for s in subscriptions:
        assert emails.get(s.customer.party.email) == 1, s.customer.party.email
        assert sms[s.customer.party.phone] == 1


@pytest.mark.django_db(transaction=True)
def test_exactly_one_notice_with_two_workers_retries_and_a_worker_killed_mid_send(
    smtp_server, restartable_celery_worker, second_celery_worker
):
    environment = {
        **smtp_server.environment,
        "INCIDENT_NOTICE_BATCH": "3",
        "INCIDENT_NOTICE_RETRY_SECONDS": "0.1",
    }
    restartable_celery_worker.restart(**environment)
    second_celery_worker.restart(**environment)
    incident, subscriptions = confirmed_incident()

    smtp_server.hold()  # the first conversations wait at RCPT
    with transaction.atomic():
        notices.incident_confirmed(incident.pk)
        notices.incident_confirmed(incident.pk)  # safe to call twice
    wait_until(smtp_server.held.is_set)
    time.sleep(0.3)
    restartable_celery_worker.kill()  # mid-conversation: no message, row not committed
    smtp_server.refuse_next(2)  # then two transient refusals: retried with backoff
    smtp_server.release()
    notices.notices_resume(older_than_seconds=0)  # the beat sweep picks up the killed batch

    wait_until(settled)
    assert IncidentNotice.objects.filter(incident=incident).count() == 2 * CUSTOMERS
    assert set(IncidentNotice.objects.values_list("state", flat=True)) == {NoticeState.SENT}
    assert len(smtp_server.messages) == CUSTOMERS
    assert_exactly_once(smtp_server, subscriptions, "on it")
    # Deterministic Message-IDs, one per customer.
    assert len({m["Message-ID"] for m in smtp_server.messages}) == CUSTOMERS
    assert all(
        m["Message-ID"].startswith(f"<incident-{incident.pk}.") for m in smtp_server.messages
    )
    # Each notice is on the customer's timeline.
    for s in subscriptions:
        assert (
            PartyInteraction.objects.filter(
                customer=s.customer, reason="incidentConfirmed", status="sent"
            ).count()
            == 2
        )


@pytest.mark.django_db(transaction=True)
def test_resolution_notices_once_and_nothing_under_maintenance(
    smtp_server, restartable_celery_worker
):
    restartable_celery_worker.restart(**smtp_server.environment)
    incident, subscriptions = confirmed_incident(3)
    notices.notices_plan(incident.pk, NoticeKind.CONFIRMED)
    notices.notices_plan(incident.pk, NoticeKind.CONFIRMED)  # again: nothing new
    wait_until(settled)
    assert len(smtp_server.messages) == 3

    Incident.objects.filter(pk=incident.pk).update(
        state=IncidentState.RESOLVED, resolved_at=clock.now()
    )
    IncidentService.objects.filter(incident=incident).update(ended_at=clock.now())
    for _ in range(2):
        notices.notices_plan(incident.pk, NoticeKind.RESOLVED)
    wait_until(settled)
    assert len(smtp_server.messages) == 6
    assert sum("restored" in m["Subject"] for m in smtp_server.messages) == 3
    assert LabSmsMessage.objects.count() == 6

    quiet, _ = confirmed_incident(2)
    Incident.objects.filter(pk=quiet.pk).update(in_maintenance=True)
    assert notices.notices_plan(quiet.pk, NoticeKind.CONFIRMED) == []
    assert len(smtp_server.messages) == 6

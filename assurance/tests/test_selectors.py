"""Reads other screens use: a customer's open alarms, the NOC's active alarms with impact."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from assurance import selectors, services
from assurance.models import Alarm
from assurance.tests.factories import subscribe
from inventory.tests.factories import GnbFactory, SliceFactory


def raise_alarm(reference: str, **overrides) -> Alarm:
    arguments = {
        "source_system_id": "ems-north",
        "alarmed_object_id": reference,
        "alarm_type": "equipmentAlarm",
        "perceived_severity": "minor",
        "probable_cause": "fanFailure",
        "alarm_raised_time": timezone.now(),
    }
    arguments.update(overrides)
    return services.alarm_raise(**arguments)[0]


@pytest.mark.django_db
def test_open_alarms_for_customer(django_assert_num_queries):
    gnb = GnbFactory()
    slice_ = SliceFactory(parent=gnb)
    alice = subscribe(slice_)
    bob = subscribe(SliceFactory(parent=gnb))
    on_gnb = raise_alarm(gnb.name)  # both customers
    on_slice = raise_alarm(slice_.name, perceived_severity="critical")  # Alice only
    cleared = raise_alarm(slice_.name, probable_cause="old")
    services.alarm_clear(alarm=cleared, by="noc1")
    raise_alarm("unknown-element")

    with django_assert_num_queries(2):
        alarms = list(selectors.open_alarms_for_customer(alice.customer.pk))
        names = [[c.name for c in alarm.impacted_customers] for alarm in alarms]
    assert [alarm.pk for alarm in alarms] == [on_slice.pk, on_gnb.pk]
    assert names == [[alice.customer.name], sorted([alice.customer.name, bob.customer.name])]
    assert [a.pk for a in selectors.open_alarms_for_customer(bob.customer.pk)] == [on_gnb.pk]


@pytest.mark.django_db
def test_active_alarms_with_impact_counts_customers_once():
    gnb = GnbFactory()
    alice = subscribe(gnb)
    subscribe(SliceFactory(parent=gnb), customer=alice.customer)  # a second product, same customer
    subscribe(SliceFactory(parent=gnb))
    raise_alarm(gnb.name)

    (alarm,) = selectors.active_alarms_with_impact()

    assert alarm.affected_services.count() == 3
    assert alarm.impacted_customer_count == 2
    assert len(alarm.impacted_customers) == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_reports_of_one_fault_make_one_alarm():
    gnb = GnbFactory()
    barrier = threading.Barrier(4)
    results = []

    def report():
        try:
            barrier.wait()
            results.append(
                services.alarm_raise(
                    source_system_id="ems-north",
                    alarmed_object_id=gnb.name,
                    alarm_type="equipmentAlarm",
                    perceived_severity="major",
                    probable_cause="fanFailure",
                    alarm_raised_time=timezone.now(),
                )
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=report) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    alarm = Alarm.objects.get()
    assert alarm.occurrence_count == 4
    assert sorted(created for _, created in results) == [False, False, False, True]

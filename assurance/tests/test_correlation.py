"""Correlation: one incident per fault with its root cause, in any arrival order; its lifecycle
(confirmed, cancelled as a blip, resolved) and its impact kept true."""

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest

from assurance.choices import AlarmState, IncidentState
from assurance.correlation import correlate, incident_confirm, incidents_confirm_due
from assurance.models import Alarm, Incident, IncidentService
from assurance.services import AlarmReport, alarms_ingest
from assurance.tests.factories import subscribe
from catalog.choices import LifecycleStatus
from catalog.tests.factories import ProductOfferingFactory, ProductOfferingPriceFactory
from inventory import paths
from inventory.choices import LinkMedium
from inventory.services import cable_create, duct_create, link_create
from inventory.tests.factories import GnbFactory, RouterFactory
from telco import clock

pytestmark = pytest.mark.django_db

_keys = itertools.count()


def raise_alarm(resource, *, at=None, cause="linkDown") -> Alarm:
    """An active alarm as the ingest path stores it (correlation runs on stored alarms)."""
    return Alarm.objects.create(
        source_system_id="nms",
        alarmed_object_ref=str(resource.pk),
        resource=resource,
        alarm_type="communicationsAlarm",
        perceived_severity="critical",
        probable_cause=cause,
        reduction_key=f"key-{next(_keys)}",
        alarm_raised_time=at or clock.now(),
    )


def clear(*alarms: Alarm) -> None:
    Alarm.objects.filter(pk__in=[a.pk for a in alarms]).update(
        state=AlarmState.CLEARED, alarm_cleared_time=clock.now()
    )


@pytest.fixture
def net():
    """CORE <- R1, R2 over links L1, L2 in the TRUNK cable (in a duct); G1 behind R1, G2 behind
    R2; G3 behind R1 and also straight to CORE by microwave (dual-homed)."""
    core = RouterFactory(name="CORE")
    duct = duct_create(name="DUCT-1")
    trunk = cable_create(name="TRUNK", duct=duct)
    access = cable_create(name="ACCESS")
    r1, r2 = RouterFactory(name="R1"), RouterFactory(name="R2")
    g1, g2, g3 = GnbFactory(name="G1"), GnbFactory(name="G2"), GnbFactory(name="G3")
    l1 = link_create(name="L1", a_end=r1, z_end=core, cable=trunk)
    l2 = link_create(name="L2", a_end=r2, z_end=core, cable=trunk)
    link_create(name="G1-R1", a_end=g1, z_end=r1, cable=access)
    link_create(name="G2-R2", a_end=g2, z_end=r2, cable=access)
    link_create(name="G3-R1", a_end=g3, z_end=r1, cable=access)
    link_create(name="G3-MW", a_end=g3, z_end=core, medium=LinkMedium.MICROWAVE)
    subs = {name: subscribe(gnb) for name, gnb in (("s1", g1), ("s2", g2), ("s3", g3))}
    paths.service_paths_rebuild()
    return {
        "core": core,
        "trunk": trunk,
        "duct": duct,
        "r1": r1,
        "r2": r2,
        "g1": g1,
        "g2": g2,
        "g3": g3,
        "l1": l1,
        "l2": l2,
        "subs": subs,
    }


def symptoms_of_a_trunk_cut(net) -> list[Alarm]:
    now = clock.now()
    return [
        raise_alarm(net[name], at=now + timedelta(seconds=i))
        for i, name in enumerate(("l1", "l2", "r1", "r2", "g1", "g2"))
    ]


def trunk_cut(net) -> Alarm:
    return raise_alarm(net["trunk"], at=clock.now() + timedelta(seconds=10), cause="cableCut")


def storm(net) -> tuple[Alarm, list[Alarm]]:
    symptoms = symptoms_of_a_trunk_cut(net)
    return trunk_cut(net), symptoms


def assert_one_incident(root: Alarm, symptoms: list[Alarm]) -> Incident:
    incidents = Incident.objects.all()
    assert incidents.filter(state=IncidentState.PENDING).count() == 1
    incident = incidents.get(state=IncidentState.PENDING)
    root.refresh_from_db()
    assert root.is_root_cause
    assert root.root_alarm_id is None
    assert root.incident_id == incident.pk
    assert incident.root_alarm_id == root.pk
    assert incident.root_resource_id == root.resource_id
    assert set(root.correlated_alarms.values_list("pk", flat=True)) == {a.pk for a in symptoms}
    assert set(incident.alarms.values_list("pk", flat=True)) == {root.pk} | {a.pk for a in symptoms}
    assert not Alarm.objects.filter(pk__in=[a.pk for a in symptoms], is_root_cause=True).exists()
    return incident


def test_root_first_and_root_last_give_the_same_single_incident(net):
    root, symptoms = storm(net)
    correlate([root.pk])
    correlate([a.pk for a in symptoms])
    first = assert_one_incident(root, symptoms)
    # Again: nothing changes (idempotent).
    correlate([root.pk, *[a.pk for a in symptoms]])
    assert assert_one_incident(root, symptoms).pk == first.pk


def test_root_last_reparents_the_symptoms_and_their_incidents(net):
    symptoms = symptoms_of_a_trunk_cut(net)
    correlate([a.pk for a in symptoms])
    # Before the root: L1 and L2 each head what is behind them.
    assert Incident.objects.filter(state=IncidentState.PENDING).count() == 2
    root = trunk_cut(net)
    correlate([root.pk])
    incident = assert_one_incident(root, symptoms)
    # The other symptom incident was merged away, never told.
    assert Incident.objects.filter(state=IncidentState.CANCELLED).count() == 1
    assert incident.customers_count == 3


def test_one_batch_with_the_root_last(net):
    root, symptoms = storm(net)
    correlate([*[a.pk for a in symptoms], root.pk])
    assert_one_incident(root, symptoms)
    assert Incident.objects.count() == 1


def test_alarms_outside_the_window_do_not_join(net, settings):
    settings.INCIDENT_CORRELATION_WINDOW_SECONDS = 60
    root = raise_alarm(net["trunk"])
    late = raise_alarm(net["g1"], at=clock.now() + timedelta(minutes=10))
    correlate([root.pk, late.pk])
    assert Incident.objects.count() == 2
    late.refresh_from_db()
    assert late.root_alarm_id is None
    # Alone in its own incident: it heads it, but is the root cause of no other alarm.
    assert late.incident.root_alarm_id == late.pk
    assert not late.is_root_cause


def test_a_surviving_path_degrades_rather_than_takes_down(net):
    root = raise_alarm(net["trunk"])
    correlate([root.pk])
    incident = Incident.objects.get()
    impacts = dict(
        IncidentService.objects.filter(incident=incident, ended_at__isnull=True).values_list(
            "service_id", "impact"
        )
    )
    subs = net["subs"]
    assert impacts == {
        subs["s1"].service.pk: "down",
        subs["s2"].service.pk: "down",
        subs["s3"].service.pk: "degraded",
    }
    assert (incident.services_down, incident.services_degraded) == (2, 1)
    assert incident.customers_count == 3
    assert incident.products_count == 3


def test_impact_grows_and_shrinks_as_alarms_join_and_clear(net):
    r2 = raise_alarm(net["r2"])
    correlate([r2.pk])
    incident = Incident.objects.get()
    assert incident.services_down == 1
    assert incident.customers_count == 1
    # The root arrives: the incident grows to everything behind the trunk.
    root = raise_alarm(net["trunk"], at=clock.now() + timedelta(seconds=5))
    correlate([root.pk])
    incident = Incident.objects.get(state=IncidentState.PENDING)
    assert incident.root_alarm_id == root.pk
    assert (incident.services_down, incident.services_degraded) == (2, 1)
    # The trunk is repaired, R2 still alarms: only R2's customers remain.
    clear(root)
    correlate([root.pk])
    incident.refresh_from_db()
    assert (incident.services_down, incident.services_degraded) == (1, 0)
    ended = IncidentService.objects.filter(incident=incident, ended_at__isnull=False)
    assert ended.count() == 2


def test_a_blip_cleared_before_confirmation_is_cancelled(net, monkeypatch):
    told = []
    monkeypatch.setattr("assurance.correlation.notices_call", lambda *args: told.append(args))
    alarm = raise_alarm(net["g1"])
    correlate([alarm.pk])
    incident = Incident.objects.get()
    clear(alarm)
    correlate([alarm.pk])
    incident.refresh_from_db()
    assert incident.state == IncidentState.CANCELLED
    assert incident.confirmed_at is None
    assert not IncidentService.objects.filter(incident=incident, ended_at__isnull=True).exists()
    assert incident.customers_count == 0
    assert told == []


def test_confirmed_after_the_delay_then_resolved_when_every_alarm_clears(
    net, settings, time_machine, monkeypatch
):
    calls = []
    monkeypatch.setattr(
        "assurance.correlation.notices_call", lambda name, pk: calls.append((name, pk))
    )
    settings.INCIDENT_CONFIRMATION_SECONDS = 60
    time_machine.move_to(clock.now(), tick=False)
    alarm = raise_alarm(net["g1"])
    correlate([alarm.pk])
    incident = Incident.objects.get()
    assert not incident_confirm(incident.pk)  # not yet due
    time_machine.shift(timedelta(seconds=61))
    assert incidents_confirm_due() == [incident.pk]
    incident.refresh_from_db()
    assert incident.confirmed_at is not None
    assert calls == [("incident_confirmed", incident.pk)]
    assert not incident_confirm(incident.pk)  # once
    clear(alarm)
    correlate([alarm.pk])
    incident.refresh_from_db()
    assert incident.state == IncidentState.RESOLVED
    assert incident.resolved_at is not None
    assert calls[-1] == ("incident_resolved", incident.pk)
    assert not IncidentService.objects.filter(incident=incident, ended_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_two_batches_correlating_at_once_make_one_incident(net):
    """The root in one batch, its symptoms in another, correlated by two workers at once."""
    import threading

    from django.db import connection

    root, symptoms = storm(net)
    barrier = threading.Barrier(2)
    errors = []

    def work(ids):
        try:
            barrier.wait(timeout=10)
            correlate(ids)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=work, args=([root.pk],)),
        threading.Thread(target=work, args=([a.pk for a in symptoms],)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert_one_incident(root, symptoms)
    open_incidents = Incident.objects.exclude(state=IncidentState.CANCELLED)
    assert open_incidents.count() == 1


def test_impact_follows_a_topology_change(net):
    """A second uplink built while the incident lives: the service behind it is degraded."""
    from assurance.impact import open_incidents_impact_refresh

    root = raise_alarm(net["r2"])
    correlate([root.pk])
    incident = Incident.objects.get()
    assert (incident.services_down, incident.services_degraded) == (1, 0)
    link_create(name="G2-MW", a_end=net["g2"], z_end=net["core"], medium=LinkMedium.MICROWAVE)
    assert open_incidents_impact_refresh() == 1
    incident.refresh_from_db()
    assert (incident.services_down, incident.services_degraded) == (0, 1)


def test_batches_of_new_alarms_group_as_one_batch_over_everything_does(net):
    """Batches that only add alarms (each pairing its new alarms with what is settled) end as
    correlating everything at once, where every pair is read again (a cleared alarm in the
    batch makes correlation walk everything)."""
    now = clock.now()
    root = raise_alarm(net["trunk"], at=now, cause="cableCut")
    early = [raise_alarm(net[name], at=now + timedelta(seconds=1)) for name in ("l1", "r1")]
    late = [raise_alarm(net[name], at=now + timedelta(seconds=2)) for name in ("g1", "r2", "g2")]
    again = raise_alarm(net["r1"], at=now + timedelta(seconds=3), cause="fanFailure")
    lone = raise_alarm(GnbFactory(name="G9"), at=now + timedelta(seconds=4), cause="power")
    alarms = [root, *early, *late, again, lone]

    def grouping() -> tuple[set, dict]:
        rows = Alarm.objects.filter(pk__in=[a.pk for a in alarms]).values_list(
            "pk", "incident_id", "root_alarm_id", "is_root_cause"
        )
        by_incident = {}
        for pk, incident_id, _, _ in rows:
            by_incident.setdefault(incident_id, set()).add(pk)
        return {frozenset(group) for group in by_incident.values()}, {
            pk: (root_id, is_root) for pk, _, root_id, is_root in rows
        }

    correlate([root.pk])
    correlate([a.pk for a in early])
    correlate([a.pk for a in late] + [again.pk, lone.pk])
    in_batches = grouping()

    Alarm.objects.update(incident=None, root_alarm=None, is_root_cause=False)
    Incident.objects.all().delete()
    cleared = raise_alarm(net["core"], at=now, cause="ignored")
    clear(cleared)
    correlate([a.pk for a in alarms] + [cleared.pk])
    at_once = grouping()

    assert in_batches == at_once
    groups, roots = in_batches
    assert groups == {frozenset(a.pk for a in alarms[:-1]), frozenset([lone.pk])}
    assert roots[root.pk] == (None, True)
    assert roots[again.pk] == (root.pk, False)
    assert roots[lone.pk] == (None, False)


def test_a_symptom_joins_the_fault_it_came_with_not_an_older_one_on_its_element(net):
    # Hours ago: a power problem on G1, its own incident, still open.
    old = raise_alarm(net["g1"], at=clock.now() - timedelta(hours=3), cause="powerProblem")
    correlate([old.pk])
    earlier = Incident.objects.get()
    # Now the trunk is cut: G1 (and the rest) alarm with it, the cable last.
    root, symptoms = storm(net)
    correlate([*[a.pk for a in symptoms], root.pk])
    incident = Incident.objects.exclude(pk=earlier.pk).get(state=IncidentState.PENDING)
    g1_link_down = next(a for a in symptoms if a.resource_id == net["g1"].pk)
    g1_link_down.refresh_from_db()
    assert g1_link_down.incident_id == incident.pk
    assert g1_link_down.root_alarm_id == root.pk
    # The older fault keeps its own incident, still headed by its alarm.
    old.refresh_from_db()
    assert (old.incident_id, old.is_root_cause or old.root_alarm_id is None) == (earlier.pk, True)


def ingest(resource, *, at, cause) -> Alarm:
    """One report through the bulk ingest (which stores a new alarm in a guessed incident and
    hands it to correlation)."""
    report = AlarmReport(
        source_system_id="nms",
        alarmed_object_id=str(resource.pk),
        alarm_type="communicationsAlarm",
        probable_cause=cause,
        alarm_raised_time=at,
    )
    (result,) = alarms_ingest([report], by="test")
    return Alarm.objects.get(pk=result.alarm_id)


def test_the_next_fault_of_a_failed_element_joins_its_incident_under_its_root(net):
    now = clock.now()
    first = ingest(net["r1"], at=now, cause="linkDown")
    incident = Incident.objects.get(root_alarm=first)

    second = ingest(net["r1"], at=now + timedelta(seconds=5), cause="powerProblem")

    first.refresh_from_db()
    assert (second.incident_id, second.root_alarm_id, second.is_root_cause) == (
        incident.pk,
        first.pk,
        False,
    )
    assert first.is_root_cause
    assert first.incident_id == incident.pk
    assert Incident.objects.count() == 1


def test_a_fault_reported_late_but_raised_first_becomes_the_root_whatever_was_guessed(net):
    now = clock.now()
    later = ingest(net["r1"], at=now, cause="linkDown")
    incident = Incident.objects.get(root_alarm=later)

    # Raised before the stored alarm on the same element: upstream of it, so the root, though
    # the ingest stored it in the element's incident under `later`.
    earlier = ingest(net["r1"], at=now - timedelta(seconds=30), cause="powerProblem")

    later.refresh_from_db()
    incident.refresh_from_db()
    assert (earlier.incident_id, earlier.root_alarm_id, earlier.is_root_cause) == (
        incident.pk,
        None,
        True,
    )
    assert (later.root_alarm_id, later.is_root_cause) == (earlier.pk, False)
    assert incident.root_alarm_id == earlier.pk
    assert Incident.objects.filter(state=IncidentState.PENDING).count() == 1


def test_revenue_at_risk_counts_a_fee_per_site_once_per_site(net):
    offering = ProductOfferingFactory(name="Enterprise VPN (impact test)")
    common = {
        "product_offering": offering,
        "valid_from": clock.now() - timedelta(days=30),
        "lifecycle_status": LifecycleStatus.LAUNCHED,
    }
    ProductOfferingPriceFactory(name="Monthly fee", amount=Decimal("400.00"), **common)
    ProductOfferingPriceFactory(
        name="Monthly fee per site", amount=Decimal("250.00"), unit_of_measure="site", **common
    )
    product = net["subs"]["s1"].product  # the only service on G1
    product.product_offering = offering
    product.characteristics = {"sites": "4, 9,11"}
    product.save(update_fields=["product_offering", "characteristics"])

    alarm = raise_alarm(net["g1"])
    correlate([alarm.pk])

    incident = Incident.objects.get(root_alarm=alarm)
    assert (incident.products_count, incident.revenue_at_risk) == (1, Decimal("1150.00"))

"""The NOC dashboard's incidents: actions (acknowledge, assign, note, ETA), who may use them, the
filters, the incident page, and query counts that do not grow with the rows."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from assurance import incident_actions
from assurance.models import Alarm, Incident, IncidentService
from assurance.tests.factories import subscribe
from crm.tests.factories import CustomerFactory
from inventory.tests.factories import GnbFactory, RegionFactory, SiteFactory, SliceFactory
from telco import clock
from telco.exceptions import DomainError, InvalidTransition

pytestmark = pytest.mark.django_db

DASHBOARD = "/noc/"


def make_alarm(resource, *, services=(), incident=None, root=False, **fields) -> Alarm:
    """An active alarm written directly (no correlation runs): the page only reads it."""
    values = {
        "source_system_id": "ems",
        "alarmed_object_ref": str(resource.pk),
        "resource": resource,
        "alarm_type": "communicationsAlarm",
        "perceived_severity": "major",
        "probable_cause": "lossOfSignal",
        "alarm_raised_time": clock.now(),
        "incident": incident,
        "is_root_cause": root,
        **fields,
    }
    values.setdefault(
        "reduction_key", f"{resource.pk}-{values['probable_cause']}-{Alarm.objects.count()}"
    )
    alarm = Alarm.objects.create(**values)
    alarm.affected_services.set(services)
    return alarm


def make_incident(resource, *, severity="critical", customers=1, **fields) -> Incident:
    """An open incident rooted on `resource` with its root alarm and `customers` impacted."""
    now = clock.now()
    incident = Incident.objects.create(
        name=f"Loss of signal on {resource.name}",
        root_resource=resource,
        first_alarm_time=now - timedelta(minutes=42),
        customers_count=customers,
        services_down=customers,
        revenue_at_risk=Decimal("123.45"),
        **fields,
    )
    subscriptions = [subscribe(resource) for _ in range(customers)]
    root = make_alarm(
        resource,
        services=[s.service for s in subscriptions],
        incident=incident,
        root=True,
        perceived_severity=severity,
    )
    Incident.objects.filter(pk=incident.pk).update(root_alarm=root)
    IncidentService.objects.bulk_create(
        IncidentService(incident=incident, service=s.service, impact="down", started_at=now)
        for s in subscriptions
    )
    incident.refresh_from_db()
    return incident


def row(page: str, kind: str, pk: int) -> str:
    return page.split(f'<tr id="{kind}-{pk}"')[1].split("</tr>")[0]


def test_dashboard_shows_incidents_first_with_their_impact(noc_client):
    gnb = GnbFactory(name="gnb-cut-1")
    incident = make_incident(gnb, customers=3)
    loose = make_alarm(SliceFactory(), perceived_severity="minor", probable_cause="highBer")

    page = noc_client.get(DASHBOARD).content.decode()

    assert page.index(f'<tr id="incident-{incident.pk}"') < page.index(f'<tr id="alarm-{loose.pk}"')
    incident_row = row(page, "incident", incident.pk)
    assert "lossOfSignal" in incident_row
    assert "gnb-cut-1" in incident_row
    assert 'data-customers="3"' in incident_row
    assert "123.45" in incident_row
    assert "42m" in incident_row  # age
    assert f'action="/noc/incidents/{incident.pk}/acknowledge/"' in incident_row
    assert f'action="/noc/incidents/{incident.pk}/eta/"' in incident_row
    assert "root cause" in row(page, "alarm", incident.root_alarm_id)
    # The live blocks re-fetch the same rows.
    block = noc_client.get("/noc/live/incidents/").content.decode()
    assert f'<tr id="incident-{incident.pk}"' in block
    assert "<html" not in block
    alarms_block = noc_client.get("/noc/live/alarms/").content.decode()
    assert f'<tr id="alarm-{loose.pk}">' in alarms_block


def test_closed_incidents_leave_the_dashboard(noc_client):
    incident = make_incident(GnbFactory())
    incident_actions.incident_move(incident, "resolved", by="noc1")
    assert f'<tr id="incident-{incident.pk}"' not in noc_client.get(DASHBOARD).content.decode()


def test_acknowledge_assign_eta_and_note_from_the_page(noc_client):
    incident = make_incident(GnbFactory())
    detail = f"/noc/incidents/{incident.pk}/"

    response = noc_client.post(f"/noc/incidents/{incident.pk}/acknowledge/", {"next": DASHBOARD})
    assert response["Location"] == DASHBOARD
    incident.refresh_from_db()
    assert (incident.state, incident.acknowledged_by) == ("acknowledged", "noc1")
    assert incident.acknowledged_at is not None

    eta = (clock.now() + timedelta(hours=3)).replace(second=0, microsecond=0)
    response = noc_client.post(
        f"/noc/incidents/{incident.pk}/eta/", {"eta": eta.isoformat(), "next": detail}
    )
    assert response["Location"] == detail
    noc_client.post(f"/noc/incidents/{incident.pk}/assign/", {"assignee": "noc1"})
    noc_client.post(f"/noc/incidents/{incident.pk}/comment/", {"text": "Splice crew sent"})

    incident.refresh_from_db()
    assert incident.expected_restore_time == eta
    assert incident.assigned_to == "noc1"
    assert incident.state == "inProgress"  # assigning starts the work
    assert [note["text"] for note in incident.notes] == ["Splice crew sent"]
    assert incident.notes[0]["author"] == "noc1"
    moves = list(incident.history.values_list("from_state", "to_state", "changed_by"))
    assert moves == [
        ("pending", "acknowledged", "noc1"),
        ("acknowledged", "acknowledged", "noc1"),  # the ETA, status kept
        ("acknowledged", "inProgress", "noc1"),
    ]
    page = noc_client.get(detail).content.decode()
    assert "Splice crew sent" in page
    assert "assigned to noc1" in page
    assert eta.strftime("%Y-%m-%d") in page


def test_bad_input_is_refused_with_a_message_and_changes_nothing(noc_client):
    incident = make_incident(GnbFactory())
    before = clock.now() - timedelta(minutes=5)

    past = noc_client.post(
        f"/noc/incidents/{incident.pk}/eta/", {"eta": before.isoformat()}, follow=True
    )
    assert "The expected restore time must be in the future." in past.content.decode()
    garbage = noc_client.post(f"/noc/incidents/{incident.pk}/eta/", {"eta": "soon"}, follow=True)
    assert "is not a date and time" in garbage.content.decode()
    stranger = noc_client.post(
        f"/noc/incidents/{incident.pk}/assign/", {"assignee": "mallory"}, follow=True
    )
    assert "No active NOC user is named &#x27;mallory&#x27;." in stranger.content.decode()
    empty = noc_client.post(f"/noc/incidents/{incident.pk}/comment/", {"text": " "}, follow=True)
    assert "A note needs some text." in empty.content.decode()

    incident.refresh_from_db()
    assert incident.expected_restore_time is None
    assert incident.assigned_to == ""
    assert incident.notes == []
    assert incident.history.count() == 0


def test_actions_name_the_field_they_refuse(noc_user, agent_user):
    incident = make_incident(GnbFactory())
    with pytest.raises(DomainError) as past:
        incident_actions.incident_set_eta(
            incident, eta=clock.now() - timedelta(seconds=1), by="noc1"
        )
    assert past.value.field == "expectedRestoreTime"
    with pytest.raises(DomainError) as agent:  # an agent is not NOC: not assignable
        incident_actions.incident_assign(incident, to=agent_user.username, by="noc1")
    assert agent.value.field == "responsibleParty"
    with pytest.raises(DomainError) as note:
        incident_actions.incident_comment(incident, text="x" * 4001, by="noc1")
    assert note.value.field == "note"
    with pytest.raises(DomainError) as status:
        incident_actions.incident_move(incident, "fixed", by="noc1")
    assert status.value.field == "status"

    incident_actions.incident_move(incident, "cancelled", by="noc1", reason="blip")
    with pytest.raises(InvalidTransition) as final:
        incident_actions.incident_move(incident, "inProgress", by="noc1")
    assert final.value.field == "status"
    with pytest.raises(InvalidTransition):
        incident_actions.incident_set_eta(incident, eta=clock.now() + timedelta(hours=1), by="noc1")
    incident.refresh_from_db()
    assert incident.state == "cancelled"
    assert incident.status_change_reason == "blip"
    assert incident.history.count() == 1


def test_acknowledging_twice_and_resolving_record_their_times(noc_user):
    incident = make_incident(GnbFactory())
    incident_actions.incident_acknowledge(incident, by="noc1")
    first = incident.acknowledged_at
    incident_actions.incident_acknowledge(incident, by="noc2")
    incident_actions.incident_move(incident, "resolved", by="noc1")
    incident_actions.incident_move(incident, "inProgress", by="ems", reason="root back")
    incident.refresh_from_db()
    assert (incident.acknowledged_at, incident.acknowledged_by) == (first, "noc1")
    assert incident.resolved_at is None  # reopened
    assert list(incident.history.values_list("to_state", flat=True)) == [
        "acknowledged",
        "resolved",
        "inProgress",
    ]


def test_only_noc_and_admin_see_and_act(agent_client, finance_client, admin_role_client, noc_user):
    incident = make_incident(GnbFactory())
    pages = [f"/noc/incidents/{incident.pk}/", "/noc/live/incidents/", "/noc/live/alarms/"]
    posts = {
        "acknowledge": {},
        "assign": {"assignee": "noc1"},
        "comment": {"text": "hi"},
        "eta": {"eta": (clock.now() + timedelta(hours=1)).isoformat()},
    }
    for client in (agent_client, finance_client):
        for url in pages:
            assert client.get(url).status_code == 403
        for action, data in posts.items():
            assert client.post(f"/noc/incidents/{incident.pk}/{action}/", data).status_code == 403
    anonymous = Client().post(f"/noc/incidents/{incident.pk}/acknowledge/")
    assert anonymous["Location"].startswith("/accounts/login/")
    assert admin_role_client.get(f"/noc/incidents/{incident.pk}/").status_code == 200
    assert admin_role_client.get(f"/noc/incidents/{incident.pk}/acknowledge/").status_code == 405
    assert admin_role_client.get("/noc/incidents/999999/").status_code == 404
    incident.refresh_from_db()
    assert incident.state == "pending"
    assert incident.notes == []
    # Admins act (and are assignable) like the NOC.
    admin_role_client.post(f"/noc/incidents/{incident.pk}/acknowledge/")
    incident.refresh_from_db()
    assert incident.state == "acknowledged"


def test_filters_by_severity_region_and_type(noc_client):
    north, south = RegionFactory(name="North"), RegionFactory(name="South")
    north_gnb = GnbFactory(site=SiteFactory(region=north))
    south_gnb = GnbFactory(site=SiteFactory(region=south))
    north_incident = make_incident(north_gnb, severity="critical")
    south_incident = make_incident(south_gnb, severity="major")
    # A slice has its gNB's site; a port-like child without a site reads its parent's.
    child = SliceFactory(parent=south_gnb, site=None)
    quality = make_alarm(child, alarm_type="qualityOfServiceAlarm", perceived_severity="minor")

    def shown(query: str) -> tuple[set, set]:
        page = noc_client.get(f"{DASHBOARD}?{query}").content.decode()
        incidents = {int(pk) for pk in re.findall(r'<tr id="incident-(\d+)"', page)}
        alarms = {int(pk) for pk in re.findall(r'<tr id="alarm-(\d+)"', page)}
        return incidents, alarms

    assert shown(f"region={north.pk}") == ({north_incident.pk}, {north_incident.root_alarm_id})
    assert shown(f"region={south.pk}") == (
        {south_incident.pk},
        {south_incident.root_alarm_id, quality.pk},
    )
    assert shown("severity=critical") == ({north_incident.pk}, {north_incident.root_alarm_id})
    assert shown("type=qualityOfServiceAlarm") == (set(), {quality.pk})
    assert shown(f"severity=minor&region={south.pk}&type=qualityOfServiceAlarm") == (
        set(),
        {quality.pk},
    )
    # The live blocks keep the filters.
    block = noc_client.get("/noc/live/alarms/?type=qualityOfServiceAlarm").content.decode()
    assert re.findall(r'<tr id="alarm-(\d+)"', block) == [str(quality.pk)]
    # An unknown value is ignored, and said.
    page = noc_client.get(f"{DASHBOARD}?severity=apocalyptic").content.decode()
    assert "Unknown severity &#x27;apocalyptic&#x27;." in page
    assert len(re.findall(r'<tr id="alarm-', page)) == 3


def test_incident_detail_shows_alarms_services_history_and_notes(noc_client):
    gnb = GnbFactory(name="gnb-root-7")
    customer = CustomerFactory(name="Dana Field")
    incident = make_incident(gnb, customers=0)
    subscription = subscribe(gnb, customer=customer)
    IncidentService.objects.create(
        incident=incident, service=subscription.service, impact="degraded", started_at=clock.now()
    )
    symptom = make_alarm(SliceFactory(parent=gnb), incident=incident, probable_cause="linkDown")
    incident_actions.incident_comment(incident, text="Fibre crew on site", by="noc1")
    incident_actions.incident_acknowledge(incident, by="noc1")

    page = noc_client.get(f"/noc/incidents/{incident.pk}/").content.decode()

    assert "gnb-root-7" in page
    assert f'<tr id="alarm-{incident.root_alarm_id}">' in page
    assert f'<tr id="alarm-{symptom.pk}">' in page
    assert page.index(f'id="alarm-{incident.root_alarm_id}"') < page.index(
        f'id="alarm-{symptom.pk}"'
    )
    assert f'href="/portal/customers/{customer.pk}/">Dana Field</a>' in page
    assert "degraded" in page
    assert "Fibre crew on site" in page
    assert "pending</td><td>acknowledged</td><td>noc1</td>" in page.replace("\n", "")


def populate(count: int) -> None:
    for number in range(count):
        gnb = GnbFactory()
        incident = make_incident(gnb, customers=2)
        for symptom in range(2):
            make_alarm(
                SliceFactory(parent=gnb),
                services=[subscribe(gnb).service],
                incident=incident,
                probable_cause=f"cause-{number}-{symptom}",
            )


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "url",
    [DASHBOARD, "/noc/live/incidents/", "/noc/live/alarms/", f"{DASHBOARD}?severity=major"],
)
def test_query_count_does_not_grow_with_incidents_and_alarms(noc_client, url):
    populate(1)
    few = queries(noc_client, url)
    populate(6)
    assert Alarm.objects.count() == 21
    assert queries(noc_client, url) == few


def test_incident_page_query_count_does_not_grow_with_its_alarms(noc_client):
    incident = make_incident(GnbFactory(), customers=1)
    url = f"/noc/incidents/{incident.pk}/"
    few = queries(noc_client, url)
    for number in range(8):
        make_alarm(
            SliceFactory(),
            services=[subscribe(GnbFactory()).service],
            incident=incident,
            probable_cause=f"c{number}",
        )
        incident_actions.incident_comment(incident, text=f"note {number}", by="noc1")
    assert queries(noc_client, url) == few


def test_assignable_users_are_active_noc_and_admins(noc_user, agent_user, admin_user_role):
    get_user_model().objects.create_user(username="gone", is_active=False).groups.add(
        *noc_user.groups.all()
    )
    assert incident_actions.assignable_usernames() == sorted(
        [noc_user.username, admin_user_role.username]
    )

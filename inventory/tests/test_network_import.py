"""Bulk import from CSV: the command and `POST /api/v1/inventory/import/<kind>`."""

from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from inventory.models import Link, Region, Resource, Site
from inventory.network_import import network_import

IMPORT = "/api/v1/inventory/import"

pytestmark = pytest.mark.django_db

SITES = """name,region,address,latitude,longitude
Hub North,North,1 High Street,53.8,-1.55
Cell A,North,,53.81,-1.56
Cell B,North,,,
"""
EQUIPMENT = """name,role,site,vendor,model,serial_number,capacity_mbps
agg-1,router,Hub North,Cisco,ASR 9903,SN1,400000
gnb-a,gnb,Cell A,Ericsson,AIR 6449,SN2,10000
gnb-b,gnb,Cell B,Ericsson,AIR 6449,SN3,10000
"""
CARDS = """equipment,slot,model
agg-1,0,LC-36
gnb-a,0,BB-6648
gnb-b,0,BB-6648
"""
PORTS = """parent,position,capacity_mbps
agg-1/0,1,100000
agg-1/0,2,100000
gnb-a/0,1,10000
gnb-b/0,1,10000
"""
DUCTS = "name\nduct-north\n"
CABLES = "name,medium,duct\ncable-north,fibre,duct-north\n"
LINKS = """name,a_end,z_end,medium,capacity_mbps,cable
fibre-a,gnb-a/0/1,agg-1/0/1,fibre,10000,cable-north
fibre-b,gnb-b/0/1,agg-1/0/2,fibre,10000,cable-north
"""
NETWORK = [
    ("sites", SITES),
    ("equipment", EQUIPMENT),
    ("cards", CARDS),
    ("ports", PORTS),
    ("ducts", DUCTS),
    ("cables", CABLES),
    ("links", LINKS),
]


def import_all(api) -> None:
    for kind, text in NETWORK:
        response = api.post(f"{IMPORT}/{kind}", text, content_type="text/csv")
        assert response.status_code == 200, response.data


def test_a_whole_network_imports_and_a_second_time_changes_nothing(noc_api):
    import_all(noc_api)

    hub = Site.objects.get(name="Hub North")
    assert (hub.region.name, str(hub.latitude), hub.address) == (
        "North",
        "53.800000",
        "1 High Street",
    )
    agg = Resource.objects.get(name="agg-1")
    assert (agg.resource_kind, agg.site, agg.serial_number, agg.capacity_mbps) == (
        "router",
        hub,
        "SN1",
        400_000,
    )
    port = Resource.objects.get(name="gnb-a/0/1")
    assert (port.parent.name, port.position, port.site.name) == ("gnb-a/0", "1", "Cell A")
    link = Link.objects.get(name="fibre-a")
    assert (link.a_end, link.a_device.name, link.z_device.name, link.parent.name) == (
        port,
        "gnb-a",
        "agg-1",
        "cable-north",
    )
    assert Resource.objects.get(name="cable-north").parent.name == "duct-north"
    count = Resource.objects.count()

    response = noc_api.post(f"{IMPORT}/links", LINKS, content_type="text/csv")
    assert response.data == {"kind": "links", "created": 0, "skipped": 2}
    import_all(noc_api)
    assert Resource.objects.count() == count
    assert Region.objects.filter(name="North").count() == 1


def test_a_bad_row_in_the_middle_rejects_the_file_and_writes_nothing(noc_api):
    import_all(noc_api)
    before = Resource.objects.count()
    bad = """parent,position,capacity_mbps,name
agg-1/0,3,100000,
agg-1/0,1,lots,
nowhere,1,1000,
agg-1/0,4,100000,
agg-1/0,4,100000,
agg-1/0,2,100000,second-port-two
"""
    response = noc_api.post(f"{IMPORT}/ports", bad, content_type="text/csv")

    assert response.status_code == 400
    assert response.data["code"] == "invalidImport"
    assert response.data["rows"] == [
        {"row": 3, "column": "capacity_mbps", "message": "'lots' is not a whole number."},
        {"row": 4, "column": "parent", "message": "No resource named 'nowhere'."},
        {
            "row": 5,
            "column": "position",
            "message": "'agg-1/0/4' appears more than once in the file.",
        },
        {
            "row": 6,
            "column": "position",
            "message": "'agg-1/0/4' appears more than once in the file.",
        },
        {
            "row": 7,
            "column": "position",
            "message": "agg-1/0 already has something in '2'.",
        },
    ]
    assert "row[4].parent" in response.data["errors"]
    assert Resource.objects.count() == before


def test_links_are_checked_against_ports_cables_and_each_other(noc_api):
    import_all(noc_api)
    bad = """name,a_end,z_end,medium,cable
x1,gnb-a/0/1,agg-1/0/2,fibre,
x2,agg-1/0/2,agg-1/0/2,microwave,cable-north
x3,gnb-a,agg-1/0/2,copper,cable-north
"""
    response = noc_api.post(f"{IMPORT}/links", bad, content_type="text/csv")
    assert response.status_code == 400
    rows = {(e["row"], e["column"], e["message"]) for e in response.data["rows"]}
    assert {
        (2, "a_end", "Port gnb-a/0/1 already has a link."),
        (2, "z_end", "'agg-1/0/2' appears more than once in the file."),
        (3, "cable", "A microwave link runs in no cable."),
        (3, "z_end", "A link joins two different ports."),
        (4, "a_end", "No port named 'gnb-a'."),
        (4, "cable", "cable-north is not a copper cable."),
    } <= rows
    assert {row for row, _, _ in rows} == {2, 3, 4}
    assert not Link.objects.filter(name__in=["x1", "x2", "x3"]).exists()


def test_header_problems_and_unknown_kinds(noc_api):
    response = noc_api.post(f"{IMPORT}/sites", "name,colour\nx,red\n", content_type="text/csv")
    assert response.status_code == 400
    assert response.data["rows"] == [
        {"row": 1, "column": "region", "message": "Missing column."},
    ]
    response = noc_api.post(f"{IMPORT}/sites", "name,region,colour\n", content_type="text/csv")
    assert response.data["rows"] == [{"row": 1, "column": "colour", "message": "Unknown column."}]
    assert noc_api.post(f"{IMPORT}/spaceships", "a\n", content_type="text/csv").status_code == 404
    assert Site.objects.count() == 0


def test_multipart_upload_and_roles(noc_api, admin_api, agent_api, finance_api, anonymous_api):
    upload = SimpleUploadedFile("sites.csv", SITES.encode(), content_type="text/csv")
    response = admin_api.post(f"{IMPORT}/sites", {"file": upload}, format="multipart")
    assert response.data == {"kind": "sites", "created": 3, "skipped": 0}
    for api, status in ((agent_api, 403), (finance_api, 403), (anonymous_api, 401)):
        response = api.post(f"{IMPORT}/ducts", DUCTS, content_type="text/csv")
        assert response.status_code == status
    assert noc_api.post(f"{IMPORT}/ducts", {}, format="json").status_code in (400, 415)
    assert not Resource.objects.filter(name="duct-north").exists()


def test_the_command_imports_or_reports_every_error(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text(SITES)
    out = StringIO()
    call_command("import_network", "sites", str(path), stdout=out)
    assert out.getvalue().strip() == "sites: 3 created, 0 already there (skipped)."

    path.write_text("name,region,latitude\nok,North,1\nbad,North,north\n")
    err = StringIO()
    with pytest.raises(CommandError, match="1 error"):
        call_command("import_network", "sites", str(path), stderr=err)
    assert err.getvalue().strip() == "row 3, latitude: 'north' is not a number."
    assert not Site.objects.filter(name="ok").exists()
    assert network_import(kind="ducts", text=DUCTS).created == 1

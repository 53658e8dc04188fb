"""Real SNMP traps over UDP to a receiver the test starts: raises, clears, malformed ones."""

import socket
import threading

import pytest

from assurance import traps
from assurance.models import Alarm
from inventory.tests.factories import GnbFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver():
    receiver = traps.TrapReceiver("127.0.0.1", 0)
    thread = threading.Thread(target=receiver.serve, kwargs={"idle_seconds": 0.05})
    thread.start()
    yield receiver
    receiver.stop()
    thread.join(timeout=5)
    receiver.close()


def send(receiver, *packets: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for packet in packets:
            sender.sendto(packet, receiver.address)


def link(trap_oid: str, port_name: str) -> bytes:
    return traps.encode_trap(
        trap_oid, [("1.3.6.1.2.1.2.2.1.1.3", 3), (f"{traps.IF_DESCR}3", port_name)]
    )


def fibre(trap_oid: str, resource_name: str, severity: int | None = 1) -> bytes:
    varbinds = [(traps.FIBRE_RESOURCE, resource_name)]
    if severity is not None:
        varbinds.append((traps.FIBRE_SEVERITY, severity))
    return traps.encode_trap(trap_oid, varbinds)


def test_traps_raise_and_clear_alarms_and_malformed_ones_are_counted(receiver):
    GnbFactory(name="AGG-7/1/3", resource_kind="port")
    GnbFactory(name="CABLE-7")

    send(
        receiver,
        link(traps.LINK_DOWN, "AGG-7/1/3"),
        fibre(traps.FIBRE_LOS, "CABLE-7", severity=1),
        link(traps.LINK_DOWN, "AGG-7/1/3"),  # a repeat: counted on the same alarm
        link(traps.LINK_DOWN, "NO-SUCH-PORT"),  # unknown port: rejected, logged
        b"\x30\x03\x02\x01",  # not BER
        traps.encode_trap("1.3.6.1.4.1.32473.9.9", []),  # a trap nobody mapped
        fibre(traps.FIBRE_LOS, "CABLE-7", severity=None),  # LOS without its severity
    )

    assert traps.wait_for(lambda: receiver.snapshot().received == 7)
    counters = receiver.snapshot()
    assert counters.malformed == 3
    assert counters.outcomes == {"created": 2, "deduplicated": 1, "rejected": 1}
    port_alarm = Alarm.objects.get(probable_cause="linkDown")
    assert port_alarm.resource.name == "AGG-7/1/3"
    assert port_alarm.source_system_id == "snmp:127.0.0.1"
    assert (port_alarm.state, port_alarm.occurrence_count) == ("raised", 2)
    fibre_alarm = Alarm.objects.get(probable_cause="lossOfSignal")
    assert (fibre_alarm.resource.name, fibre_alarm.perceived_severity) == ("CABLE-7", "critical")

    send(receiver, link(traps.LINK_UP, "AGG-7/1/3"), fibre(traps.FIBRE_LOS_CLEARED, "CABLE-7"))

    assert traps.wait_for(lambda: receiver.snapshot().received == 9)
    assert receiver.snapshot().outcomes["cleared"] == 2
    assert set(Alarm.objects.values_list("state", flat=True)) == {"cleared"}
    assert Alarm.objects.count() == 2

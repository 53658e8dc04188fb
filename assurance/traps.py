"""SNMP traps from equipment, turned into alarm raises and clears through the bulk ingest.

Understood traps (SNMPv2c, and SNMPv1 through RFC 3584's mapping of generic traps):

- IF-MIB linkDown / linkUp (1.3.6.1.6.3.1.1.5.3 / .4): raise / clear `linkDown` on the port the
  varbinds name: `ifDescr` (1.3.6.1.2.1.2.2.1.2.<ifIndex>) is the port's inventory name; without
  it, `ifName` (1.3.6.1.2.1.31.1.1.1.1.<ifIndex>).
- A vendor-style fibre trap under the documentation enterprise number 32473 (RFC 5612):
  fibreLossOfSignal (1.3.6.1.4.1.32473.1.0.1) raises, fibreLossOfSignalCleared (...0.2) clears
  `lossOfSignal` on the resource named by varbind 1.3.6.1.4.1.32473.1.1.1 (a string), with the
  severity of varbind ...1.1.2 (1 critical, 2 major, 3 minor, 4 warning).

The alarm's source is `snmp:<agent address>`, so a linkUp pairs with the linkDown of the same
agent and port. Anything else (not BER, not a trap, an unknown trap OID, a missing varbind) is a
`MalformedTrap`: the receiver counts and logs it and goes on.
"""

import logging
import select
import socket
import threading
import time
from dataclasses import dataclass, field

from django.db import DatabaseError, connection
from pyasn1.codec.ber import decoder, encoder
from pyasn1.error import PyAsn1Error
from pysnmp.proto import api
from pysnmp.proto.error import ProtocolError

from assurance.choices import AlarmType, Severity
from assurance.services import AlarmReport, alarms_ingest

logger = logging.getLogger(__name__)

SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
LINK_UP = "1.3.6.1.6.3.1.1.5.4"
IF_DESCR = "1.3.6.1.2.1.2.2.1.2."
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1."
FIBRE_ENTERPRISE = "1.3.6.1.4.1.32473.1"
FIBRE_LOS = f"{FIBRE_ENTERPRISE}.0.1"
FIBRE_LOS_CLEARED = f"{FIBRE_ENTERPRISE}.0.2"
FIBRE_RESOURCE = f"{FIBRE_ENTERPRISE}.1.1.1"
FIBRE_SEVERITY = f"{FIBRE_ENTERPRISE}.1.1.2"
FIBRE_SEVERITIES = {
    1: Severity.CRITICAL,
    2: Severity.MAJOR,
    3: Severity.MINOR,
    4: Severity.WARNING,
}
# SNMPv1 generic traps 2 and 3 are linkDown and linkUp (RFC 3584 section 3.1).
V1_GENERIC = {2: LINK_DOWN, 3: LINK_UP}


class MalformedTrap(ValueError):
    """A datagram that is not a trap we can map to an alarm; the message says why."""


def _varbinds(packet: bytes) -> tuple[str, dict[str, object]]:
    """(trap OID, {varbind OID: value}) of a v1 or v2c trap."""
    try:
        version = int(api.decodeMessageVersion(packet))
        module = api.PROTOCOL_MODULES[version]
        message, _ = decoder.decode(packet, asn1Spec=module.Message())
        pdu = module.apiMessage.get_pdu(message)
    except (PyAsn1Error, ProtocolError, KeyError, TypeError, ValueError) as error:
        raise MalformedTrap(f"not an SNMP message ({error.__class__.__name__})") from None
    if version == api.SNMP_VERSION_1:
        if not pdu.isSameTypeWith(module.TrapPDU()):
            raise MalformedTrap("an SNMPv1 message that is not a trap")
        values = {str(oid): value for oid, value in module.apiTrapPDU.get_varbinds(pdu)}
        generic = int(module.apiTrapPDU.get_generic_trap(pdu))
        if generic == 6:  # enterpriseSpecific: enterprise.0.specific (RFC 3584)
            enterprise = str(module.apiTrapPDU.get_enterprise(pdu))
            specific = int(module.apiTrapPDU.get_specific_trap(pdu))
            return f"{enterprise}.0.{specific}", values
        if generic not in V1_GENERIC:
            raise MalformedTrap(f"SNMPv1 generic trap {generic} is not mapped to an alarm")
        return V1_GENERIC[generic], values
    if not pdu.isSameTypeWith(module.SNMPv2TrapPDU()):
        raise MalformedTrap("an SNMP message that is not a trap")
    values = {str(oid): value for oid, value in module.apiPDU.get_varbinds(pdu)}
    if SNMP_TRAP_OID not in values:
        raise MalformedTrap("no snmpTrapOID.0 varbind")
    return str(values[SNMP_TRAP_OID]), values


def _text(value) -> str:
    return bytes(value).decode("utf-8", "replace") if hasattr(value, "asOctets") else str(value)


def _port_name(values: dict[str, object]) -> str:
    for prefix in (IF_DESCR, IF_NAME):
        for oid, value in values.items():
            if oid.startswith(prefix) and _text(value):
                return _text(value)
    raise MalformedTrap("link trap without an ifDescr or ifName varbind naming the port")


def trap_report(packet: bytes, agent: str) -> AlarmReport:
    """The alarm raise or clear a trap datagram from `agent` (its IP address) reports."""
    trap_oid, values = _varbinds(packet)
    source = f"snmp:{agent}"
    if trap_oid in (LINK_DOWN, LINK_UP):
        return AlarmReport(
            source_system_id=source,
            alarmed_object_id=_port_name(values),
            alarm_type=AlarmType.COMMUNICATIONS,
            probable_cause="linkDown",
            perceived_severity=Severity.MAJOR,
            alarmed_object_type="Port",
            alarm_details=f"IF-MIB {'linkDown' if trap_oid == LINK_DOWN else 'linkUp'}",
            is_clear=trap_oid == LINK_UP,
        )
    if trap_oid in (FIBRE_LOS, FIBRE_LOS_CLEARED):
        name = _text(values.get(FIBRE_RESOURCE, ""))
        if not name:
            raise MalformedTrap("fibre trap without its resource-name varbind")
        severity = Severity.MAJOR
        if trap_oid == FIBRE_LOS:
            try:
                severity = FIBRE_SEVERITIES[int(values[FIBRE_SEVERITY])]
            except (KeyError, ValueError, TypeError, PyAsn1Error):
                raise MalformedTrap("fibre LOS trap without a severity of 1 to 4") from None
        return AlarmReport(
            source_system_id=source,
            alarmed_object_id=name,
            alarm_type=AlarmType.COMMUNICATIONS,
            probable_cause="lossOfSignal",
            perceived_severity=severity,
            specific_problem="fibre",
            is_clear=trap_oid == FIBRE_LOS_CLEARED,
        )
    raise MalformedTrap(f"trap {trap_oid} is not mapped to an alarm")


def encode_trap(trap_oid: str, varbinds: list[tuple[str, object]], community="public") -> bytes:
    """An SNMPv2c trap datagram (for tests, the demo and benchmarks): `varbinds` are (OID,
    value) with str values sent as OCTET STRING and int values as Integer."""
    module = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    pdu = module.SNMPv2TrapPDU()
    module.apiTrapPDU.set_defaults(pdu)
    encoded = [(SNMP_TRAP_OID, module.ObjectIdentifier(trap_oid))]
    for oid, value in varbinds:
        typed = module.Integer(value) if isinstance(value, int) else module.OctetString(value)
        encoded.append((oid, typed))
    uptime = module.apiPDU.get_varbinds(pdu)[0]
    module.apiPDU.set_varbinds(pdu, [uptime, *encoded])
    message = module.Message()
    module.apiMessage.set_defaults(message)
    module.apiMessage.set_community(message, community)
    module.apiMessage.set_pdu(message, pdu)
    return encoder.encode(message)


@dataclass
class TrapCounters:
    """What the receiver has seen since it started."""

    received: int = 0
    malformed: int = 0
    batches: int = 0
    failed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


class TrapReceiver:
    """A UDP trap listener: traps arriving within `gather_seconds` of each other (up to
    `batch_size`) go to `alarms_ingest` as one batch; malformed ones are counted and logged."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        gather_seconds: float = 0.005,
        batch_size: int = 1000,
        by: str = "trapd",
    ):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind((host, port))
        self.address = self.socket.getsockname()
        self.gather_seconds = gather_seconds
        self.batch_size = batch_size
        self.by = by
        self.counters = TrapCounters()
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()

    def close(self) -> None:
        self.socket.close()

    def serve(self, *, idle_seconds: float = 0.5) -> None:
        """Receive until `stop()`: one batch per burst of traps."""
        try:
            while not self.stopping.is_set():
                ready, _, _ = select.select([self.socket], [], [], idle_seconds)
                if ready:
                    self.handle(self.gather())
        finally:
            # A receiver thread's own database connection goes with it.
            connection.close()

    def gather(self) -> list[tuple[bytes, str]]:
        """The datagrams of one burst: the first, then every one that follows within
        `gather_seconds` of the previous, up to `batch_size`."""
        datagrams = []
        timeout = None
        while len(datagrams) < self.batch_size:
            ready, _, _ = select.select([self.socket], [], [], timeout)
            if not ready:
                break
            packet, (agent, _port) = self.socket.recvfrom(65535)
            datagrams.append((packet, agent))
            timeout = self.gather_seconds
        return datagrams

    def handle(self, datagrams: list[tuple[bytes, str]]) -> None:
        """Map the datagrams to reports and ingest them as one batch."""
        reports, agents = [], []
        malformed = 0
        for packet, agent in datagrams:
            try:
                reports.append(trap_report(packet, agent))
                agents.append(agent)
            except MalformedTrap as error:
                malformed += 1
                logger.warning("Malformed trap from %s (%d bytes): %s", agent, len(packet), error)
            except Exception:  # a decoder bug on hostile input must not stop the receiver
                malformed += 1
                logger.exception("Undecodable trap from %s (%d bytes)", agent, len(packet))
        try:
            results = alarms_ingest(reports, by=self.by) if reports else []
        except DatabaseError:
            # The database is away: these traps are lost (counted); the receiver goes on.
            logger.exception("Could not store %d traps", len(reports))
            results = []
            with self.lock:
                self.counters.failed += len(reports)
        for result in results:
            if result.reason:
                logger.warning(
                    "Trap from %s on %s rejected: %s",
                    agents[result.index],
                    reports[result.index].alarmed_object_id,
                    result.reason,
                )
        with self.lock:
            self.counters.received += len(datagrams)
            self.counters.malformed += malformed
            self.counters.batches += 1 if reports else 0
            for result in results:
                outcomes = self.counters.outcomes
                outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1

    def snapshot(self) -> TrapCounters:
        with self.lock:
            counters = self.counters
            return TrapCounters(
                counters.received,
                counters.malformed,
                counters.batches,
                counters.failed,
                dict(counters.outcomes),
            )


def wait_for(condition, timeout: float = 5.0, step: float = 0.02) -> bool:
    """Poll `condition()` until true or `timeout` seconds (tests and the demo sender)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())

"""Which alarm is the root of which: pure functions over what correlation's walk read.

The walk (`assurance.correlation`) gives the candidate alarms (`Candidate`) and the pairs of
resources (origin, failed) where `failed` fails when `origin` does. From them: the pairs of
alarms "b is upstream of a" within the correlation window, and each alarm's root. Times and the
window are microseconds since the epoch (cheaper to read than timestamps, exact).
"""

from collections import defaultdict
from typing import NamedTuple


class Candidate(NamedTuple):
    """An alarm the walk read (the batch's and those it may correlate with), as assignment
    needs it."""

    resource_id: int
    raised: int  # microseconds since the epoch (cheaper to read than timestamps, exact)
    open_root: bool
    incident_id: int | None
    root_alarm_id: int | None
    is_root_cause: bool
    incident_open: bool


def alarms_by_resource(alarms: dict[int, Candidate]) -> dict[int, list[int]]:
    on_resource: dict[int, list[int]] = defaultdict(list)
    for alarm_id, alarm in alarms.items():
        on_resource[alarm.resource_id].append(alarm_id)
    return on_resource


def pairs(alarms: dict[int, Candidate], dead, window: int) -> set:
    """The pairs (a, b) "b is upstream of a" within the window (microseconds)."""
    on_resource = alarms_by_resource(alarms)
    upstream = set()
    # (origin, id): the resource `id` fails when `origin` does; pair their alarms in the window.
    for origin, resource_id in dead:
        for b in on_resource.get(origin, ()):
            alarm_b = alarms[b]
            for a in on_resource.get(resource_id, ()):
                if a != b and (
                    alarm_b.open_root or abs(alarms[a].raised - alarm_b.raised) <= window
                ):
                    upstream.add((a, b))
    return upstream


def roots_of_all(alarms: dict[int, Candidate], dead, window: int) -> dict[int, int]:
    """{alarm id: its root alarm id} over the batch and the alarms it may correlate with."""
    upstream = pairs(alarms, dead, window)
    raised = {alarm_id: alarm.raised for alarm_id, alarm in alarms.items()}
    return roots_of(raised, upstream, window)


def roots_of_new(
    alarms: dict[int, Candidate], dead, batch: list[int], window: int
) -> dict[int, int] | None:
    """The roots of the batch's new alarms (and those roots), when that is all that changes:
    the common case (repeats, symptoms, lone alarms), where the pairs of the new alarms are all
    that must be read. `roots_of` over every candidate gives the same answer then.

    None when the batch may reshape what is settled (the full walk decides): a batch alarm that
    is cleared or whose incident is closed, a new alarm upstream of an older one (a root
    arriving last), or an older alarm it pairs with that has no open incident yet."""
    new = set()
    for alarm_id in batch:
        alarm = alarms.get(alarm_id)
        if alarm is None or (alarm.incident_id is not None and not alarm.incident_open):
            return None
        if alarm.incident_id is None:
            new.add(alarm_id)
    on_resource = alarms_by_resource(alarms)
    origins, failed = defaultdict(list), defaultdict(list)
    for origin, resource_id in dead:
        origins[resource_id].append(origin)
        failed[origin].append(resource_id)
    above: dict[int, list[int]] = {}
    for alarm_id in new:
        alarm = alarms[alarm_id]
        order = (alarm.raised, alarm_id)
        # What the new alarm pairs with: upstream of it (`up`), and downstream (`down`).
        up = {
            b
            for origin in origins.get(alarm.resource_id, ())
            for b in on_resource[origin]
            if b != alarm_id
            and (alarms[b].open_root or abs(alarms[b].raised - alarm.raised) <= window)
        }
        down = {
            a
            for resource_id in failed.get(alarm.resource_id, ())
            for a in on_resource[resource_id]
            if a != alarm_id and abs(alarms[a].raised - alarm.raised) <= window
        }
        # Upstream of each other: the earlier (then lower id) is the upstream one.
        for a in down - new:
            if not (a in up and (alarms[a].raised, a) < order):
                return None  # upstream of an older alarm: settled incidents may change
        above[alarm_id] = [b for b in up if not (b in down and order < (alarms[b].raised, b))]
        if any(b not in new and not alarms[b].incident_open for b in above[alarm_id]):
            return None
    roots = {}
    for alarm_id in new:
        tops = [
            b
            for b in above[alarm_id]
            if (not above[b] if b in new else alarms[b].root_alarm_id is None)
        ]
        key = root_preference(alarms[alarm_id].raised, window, {b: alarms[b].raised for b in tops})
        roots[alarm_id] = min(tops, key=key) if tops else alarm_id
    for root_id in set(roots.values()) - new:
        roots[root_id] = root_id
    return roots


def root_preference(raised_at: int, window: int, roots_raised: dict[int, int]):
    """The order in which an alarm raised at `raised_at` prefers the roots upstream of it: those
    raised within the correlation window of it first (the fault it came with, not an older one
    still open on the same element), then the earliest, then the lowest id."""
    return lambda b: (abs(roots_raised[b] - raised_at) > window, roots_raised[b], b)


def roots_of(raised: dict[int, int], upstream: set[tuple[int, int]], window: int) -> dict[int, int]:
    """{alarm: its root} from the pairs (a, b) "b is upstream of a" the walk found.

    Where two alarms are upstream of each other (a port and its device, two alarms on one
    resource), the earlier (then lower id) is the upstream one. An alarm with nothing upstream
    is a root; any other's root is a root upstream of it (itself if none is), by
    `root_preference`."""
    order = {alarm_id: (raised[alarm_id], alarm_id) for alarm_id in raised}
    above: dict[int, set[int]] = defaultdict(set)
    for a, b in upstream:
        if (b, a) in upstream and order[a] < order[b]:
            continue
        above[a].add(b)
    tops = {alarm_id for alarm_id in raised if not above.get(alarm_id)}
    roots = {}
    for alarm_id in raised:
        candidates = above.get(alarm_id, set()) & tops
        key = root_preference(raised[alarm_id], window, raised)
        roots[alarm_id] = min(candidates, key=key) if candidates else alarm_id
    return roots

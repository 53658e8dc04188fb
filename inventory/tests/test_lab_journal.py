"""The lab network's journal is rewritten as snapshots while it runs, not only at start, so a
lab that runs for months neither fills the disk nor replays months of changes; what it holds
survives a restart all the same."""

from inventory.network.labstate import LabState


def _put(lab: LabState, number: int) -> None:
    lab.write(
        "OLT-1",
        module="ont",
        key=f"svc-{number % 3}",
        entry={"serial": f"ALCL{number:08d}", "vlan": 100 + number % 3},
        idempotency_key=f"key-{number}",
    )


def test_the_journal_is_compacted_while_the_lab_runs_and_replays_the_same_state(tmp_path):
    journal = tmp_path / "labnet.jsonl"
    lab = LabState(journal, compact_after=50)
    for number in range(120):
        _put(lab, number)
    lines = journal.read_text().splitlines()
    # 120 changes: compacted at 50 and at 100 (one snapshot line), then 20 changes appended.
    assert len(lines) == 21
    assert '"op": "snapshot"' in lines[0]
    held = lab.entries("OLT-1", "ont")
    lab.close()

    restarted = LabState(journal, compact_after=50)
    assert restarted.entries("OLT-1", "ont") == held
    assert held["svc-2"] == {"serial": "ALCL00000119", "vlan": 102}
    # An idempotency key answered before the compaction is still answered, not applied again.
    status, _, replayed = restarted.write(
        "OLT-1", module="ont", key="svc-0", entry={"serial": "X"}, idempotency_key="key-3"
    )
    assert replayed
    assert restarted.entries("OLT-1", "ont")["svc-0"] == held["svc-0"]
    restarted.close()

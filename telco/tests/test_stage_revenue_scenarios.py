"""The README's revenue-assurance scenarios on the demo: a reconciliation of the untouched demo
finds nothing; `stage_revenue_scenarios` injects one difference of each kind it names and the
fraud patterns, and one reconciliation plus one fraud evaluation open exactly those cases."""

from collections import Counter
from datetime import UTC, datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from billing.models import RevenueCase
from billing.services import reconciliation

pytestmark = pytest.mark.django_db

PINNED = datetime(2026, 11, 20, 9, 1, tzinfo=UTC)


@time_machine.travel(PINNED, tick=True)
def test_the_untouched_demo_reconciles_clean_and_the_staged_scenarios_open_their_cases(lab):
    call_command("seed_demo", "--customers", "12", stdout=StringIO())
    clean = reconciliation.reconciliation_create(by="test")
    clean = reconciliation.reconciliation_run_here(run_id=clean.pk)
    assert (clean.state, clean.found_by_kind) == ("completed", {})

    out = StringIO()
    call_command("stage_revenue_scenarios", stdout=out)
    call_command("stage_revenue_scenarios", stdout=out)  # again: nothing staged twice

    kinds = Counter(RevenueCase.objects.values_list("kind", flat=True))
    # The orphans: the staged entry, and the undelivered line's configuration, still on its
    # gNB and its slice once its service was terminated behind the product's back.
    assert kinds == {
        "activeNotBillable": 1,
        "billableNotActive": 1,
        "configDrift": 1,
        "fraudSimBox": 1,
        "fraudUsageSpike": 1,
        "orphanConfig": 3,
        "usageRejected": 1,
    }, out.getvalue()
    undelivered = RevenueCase.objects.get(kind="billableNotActive").product_id
    assert RevenueCase.objects.filter(kind="orphanConfig", product_id=undelivered).count() == 2
    drift = RevenueCase.objects.get(kind="configDrift")
    assert drift.evidence["keys"] == ["bandwidth"]
    assert "already staged" in out.getvalue()

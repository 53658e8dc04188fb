"""KPI samples: COPY ingest and its rejections, rollups, thresholds with hysteresis raising and
clearing alarms, partitions and retention."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from assurance.choices import AlarmState, AlarmType
from assurance.kpis.ingest import kpi_samples_ingest
from assurance.kpis.partitions import (
    existing_partition_days,
    kpi_partitions_create,
    kpi_retention_apply,
)
from assurance.models import (
    Alarm,
    KpiBreach,
    KpiRollup,
    KpiSample,
    KpiSeries,
    KpiThreshold,
    KpiThresholdState,
)
from assurance.tests.factories import subscribe
from inventory.tests.factories import GnbFactory

NOW = datetime(2031, 3, 10, 12, 0, tzinfo=UTC)
START = datetime(2031, 3, 10, 10, 0, tzinfo=UTC)


@pytest.fixture
def pinned():
    with time_machine.travel(NOW, tick=False):
        yield


def minute(n: int) -> datetime:
    return START + timedelta(minutes=n)


def prb(cell, values, *, first=0):
    return [(cell.name, None, "prbUtilisation", minute(first + n), v) for n, v in enumerate(values)]


@pytest.mark.django_db
def test_a_batch_is_stored_through_copy_with_rejects_named_and_nothing_half(pinned):
    cell = GnbFactory(name="GNB-KPI-1")
    service = subscribe(cell).service
    rows = [
        (cell.name, None, "prbUtilisation", minute(0), 40.0),
        (str(cell.pk), None, "latency", minute(0), 12.5),
        (None, str(service.pk), "latency", minute(0), 20.0),
        ("GNB-NOWHERE", None, "prbUtilisation", minute(0), 40.0),
        (cell.name, None, "temperature", minute(0), 40.0),
        (None, "999999", "latency", minute(0), 1.0),
        (cell.name, None, "latency", NOW - timedelta(days=400), 1.0),
        (None, None, "latency", minute(0), 1.0),
    ]
    result = kpi_samples_ingest(rows)
    assert (result.received, result.stored, result.duplicates) == (8, 3, 0)
    assert result.rejected == [
        (3, "unknown resource 'GNB-NOWHERE'"),
        (4, "unknown metric 'temperature'"),
        (5, "unknown service '999999'"),
        (6, "older than the retention horizon"),
        (7, "names no resource or service"),
    ]
    stored = sorted(
        KpiSample.objects.values_list(
            "series__resource__name", "series__service_id", "series__metric", "value"
        ),
        key=str,
    )
    assert stored == sorted(
        [
            ("GNB-KPI-1", None, "prbUtilisation", 40.0),
            ("GNB-KPI-1", None, "latency", 12.5),
            (None, service.pk, "latency", 20.0),
        ],
        key=str,
    )
    # The same batch again stores nothing new: each good row is a duplicate.
    again = kpi_samples_ingest(rows)
    assert (again.stored, again.duplicates, len(again.rejected)) == (0, 3, 5)
    assert KpiSample.objects.count() == 3
    assert KpiSeries.objects.count() == 3


@pytest.mark.django_db
def test_samples_sit_in_daily_partitions(pinned):
    cell = GnbFactory()
    kpi_samples_ingest([(cell.name, None, "latency", NOW - timedelta(days=3), 5.0)])
    days = existing_partition_days()
    assert (NOW - timedelta(days=3)).date() in days
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM assurance_kpisample")
        assert cursor.fetchone()[0] == f"assurance_kpisample_p{(NOW - timedelta(days=3)):%Y%m%d}"


@pytest.mark.django_db
def test_rollups_per_five_minutes_and_hour_follow_late_samples(pinned):
    cell = GnbFactory()
    kpi_samples_ingest(prb(cell, [10, 20, 30, 40, 50, 60, 70]))  # minutes 0..6
    five = {
        r.bucket_start: (r.sample_count, r.value_sum, r.value_min, r.value_max)
        for r in KpiRollup.objects.filter(resolution="5m")
    }
    assert five == {minute(0): (5, 150.0, 10.0, 50.0), minute(5): (2, 130.0, 60.0, 70.0)}
    hour = KpiRollup.objects.get(resolution="1h")
    assert (hour.bucket_start, hour.sample_count, hour.value_sum) == (minute(0), 7, 280.0)
    # A late sample of the first bucket recomputes it and the hour; nothing is counted twice.
    kpi_samples_ingest([(cell.name, None, "prbUtilisation", minute(0) + timedelta(seconds=30), 5)])
    first = KpiRollup.objects.get(resolution="5m", bucket_start=minute(0))
    assert (first.sample_count, first.value_sum, first.value_min) == (6, 155.0, 5.0)
    hour.refresh_from_db()
    assert (hour.sample_count, hour.value_sum, hour.value_average) == (8, 285.0, 285.0 / 8)


@pytest.mark.django_db
def test_hysteresis_raises_after_n_above_and_clears_only_below_the_clear_level(pinned):
    cell = GnbFactory(name="GNB-HOT")
    subscribe(cell)
    KpiThreshold.objects.create(
        metric="prbUtilisation", raise_above=90, clear_below=70, raise_after=3
    )
    # Two above, one dip (resets the run), two above: no alarm yet, the run carries over.
    first = kpi_samples_ingest(prb(cell, [95, 96, 80, 97, 98]))
    assert (first.alarms_raised, Alarm.objects.count()) == (0, 0)
    state = KpiThresholdState.objects.get()
    assert (state.consecutive_above, state.is_raised) == (2, False)
    # The third consecutive sample above, in the next batch, raises; 80 is not below 70.
    second = kpi_samples_ingest(prb(cell, [99, 85, 80], first=5))
    assert second.alarms_raised == 1
    alarm = Alarm.objects.get()
    assert (alarm.alarm_type, alarm.state, alarm.resource_id) == (
        AlarmType.QUALITY_OF_SERVICE,
        AlarmState.RAISED,
        cell.pk,
    )
    assert alarm.alarm_raised_time == minute(5)
    assert alarm.affected_services.count() == 1
    breach = KpiBreach.objects.get()
    assert (breach.started_at, breach.ended_at, breach.alarm_id) == (minute(5), None, alarm.pk)
    # Below 70 clears the alarm and ends the breach at that sample.
    third = kpi_samples_ingest(prb(cell, [75, 65, 95], first=8))
    assert (third.alarms_raised, third.alarms_cleared) == (0, 1)
    alarm.refresh_from_db()
    assert (alarm.state, alarm.alarm_cleared_time) == (AlarmState.CLEARED, minute(9))
    breach.refresh_from_db()
    assert breach.ended_at == minute(9)
    state.refresh_from_db()
    assert (state.consecutive_above, state.is_raised, state.last_sampled_at) == (
        1,
        False,
        minute(10),
    )


@pytest.mark.django_db
def test_a_whole_episode_in_one_batch_raises_and_clears_and_a_resource_threshold_wins(pinned):
    cell, other = GnbFactory(), GnbFactory()
    KpiThreshold.objects.create(metric="latency", raise_above=50, clear_below=40, raise_after=2)
    KpiThreshold.objects.create(
        metric="latency", resource=cell, raise_above=10, clear_below=5, raise_after=2
    )
    rows = [(cell.name, None, "latency", minute(n), v) for n, v in enumerate([20, 20, 3, 20])]
    rows += [(other.name, None, "latency", minute(n), v) for n, v in enumerate([20, 20, 3, 20])]
    result = kpi_samples_ingest(rows)
    assert (result.alarms_raised, result.alarms_cleared) == (1, 1)
    breach = KpiBreach.objects.get()
    assert (breach.series.resource_id, breach.started_at, breach.ended_at) == (
        cell.pk,
        minute(1),
        minute(2),
    )
    assert Alarm.objects.get().state == AlarmState.CLEARED


@pytest.mark.django_db
def test_partitions_are_created_ahead_and_retention_drops_old_days(pinned, settings):
    settings.KPI_SAMPLE_RETENTION_DAYS = 2
    settings.KPI_ROLLUP_5M_RETENTION_DAYS = 2
    cell = GnbFactory()
    created = kpi_partitions_create(days_ahead=2)
    assert {NOW.date() + timedelta(days=n) for n in range(3)} <= existing_partition_days()
    assert kpi_partitions_create(days_ahead=2) == []
    assert created
    old, recent = NOW - timedelta(days=2, hours=6), NOW - timedelta(hours=1)
    kpi_samples_ingest(
        [(cell.name, None, "latency", old, 1.0), (cell.name, None, "latency", recent, 2.0)]
    )
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        outcome = kpi_retention_apply()
    assert outcome["samples_dropped"] == 1
    assert old.date() not in existing_partition_days()
    assert list(KpiSample.objects.values_list("value", flat=True)) == [2.0]
    assert outcome["rollups_5m_deleted"] == 1
    kept = KpiRollup.objects.filter(resolution="5m").values_list("bucket_start", flat=True)
    assert list(kept) == [recent]


@pytest.mark.django_db
def test_deleting_a_resource_deletes_its_series_samples_and_rollups(pinned):
    # The samples' and rollups' series are not enforced row by row in the database; Django's
    # cascade still takes them with their series.
    cell, other = GnbFactory(), GnbFactory()
    kpi_samples_ingest(prb(cell, [10, 20]) + prb(other, [30]))

    cell.delete()

    assert list(KpiSeries.objects.values_list("resource_id", flat=True)) == [other.pk]
    assert list(KpiSample.objects.values_list("value", flat=True)) == [30.0]
    assert set(KpiRollup.objects.values_list("series__resource_id", flat=True)) == {other.pk}

"""The send-interval histogram: bucket edges and cumulative counts of the plain-integer
histogram, what the sender's schedule observes, and the Prometheus family /metrics makes
of a snapshot."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from radio.bot.sender import INTERVAL_BUCKETS, SendSchedule
from radio.histogram import Histogram, HistogramSnapshot
from radio.web.metrics import histogram


def test_a_value_on_a_bound_is_in_that_bucket_and_counts_are_cumulative() -> None:
    h = Histogram((0.019, 0.020, 0.021, 1.0))
    for value in (0.0, 0.019, 0.0195, 0.020, 1.02 - 1.0, 0.0200001, 0.021, 0.5, 1.0, 1.5, 60.0):
        h.observe(value)
    snap = h.snapshot()
    assert snap.bounds == (0.019, 0.020, 0.021, 1.0)
    # le 0.019: 0, 0.019 | le 0.02: + 0.0195, 0.020, 1.02 - 1.0 (float error: on the bound)
    # le 0.021: + 0.0200001, 0.021 | le 1: + 0.5, 1.0 | +Inf: + 1.5, 60
    assert snap.cumulative == (2, 5, 7, 9, 11)
    assert snap.count == 11
    assert snap.total == pytest.approx(sum((0.019, 0.0195, 0.04, 0.0200001, 0.021, 63.0)))
    assert 1.02 - 1.0 > 0.02  # the case the tolerance is for


def test_an_empty_histogram_and_bad_bounds() -> None:
    assert Histogram((0.01, 0.02)).snapshot() == HistogramSnapshot((0.01, 0.02), (0, 0, 0), 0.0)
    assert HistogramSnapshot.empty((0.01, 0.02)).count == 0
    for bad in ((), (0.02, 0.01), (0.01, 0.01), (0.01, float("inf")), (float("nan"),)):
        with pytest.raises(ValueError):
            Histogram(bad)


def test_the_schedule_observes_the_interval_between_consecutive_takes() -> None:
    start = 100.0
    schedule = SendSchedule(start)
    assert schedule.intervals.bounds == INTERVAL_BUCKETS
    instants = [start + 0.02 * n for n in range(4)]  # on time: 3 intervals of 20 ms
    instants.append(start + 0.095)  # frame 4 due at 0.08: 35 ms after the last send
    for now in instants:
        assert now >= schedule.send_at() - 1e-9
        assert schedule.take(now) == 0
    # catching up: the next one waits the 12 ms minimum gap, then the grid is met again
    catch_up = schedule.send_at()
    assert catch_up == pytest.approx(start + 0.107)
    schedule.take(catch_up)
    schedule.take(schedule.send_at())  # frame 6 at 0.12: 13 ms later
    # a stall: frame 7 (due at 0.14) taken at 0.40 skips to the newest due frame
    assert schedule.take(start + 0.40) > 0
    snap = schedule.intervals.snapshot()
    by_bound = dict(zip(INTERVAL_BUCKETS, snap.cumulative, strict=False))
    assert snap.count == len(instants) + 3 - 1  # every take but the first
    assert by_bound[0.010] == 0
    assert by_bound[0.015] == 2  # the 12 ms gap, the 13 ms one
    assert by_bound[0.019] == 2
    assert by_bound[0.020] == 5  # three on time
    assert by_bound[0.030] == 5
    assert by_bound[0.040] == 6  # the 35 ms one
    assert by_bound[0.250] == 6
    assert by_bound[1.0] == 7  # the 280 ms stall
    assert snap.total == pytest.approx(0.40)  # from the first take to the last


class _One(Collector):
    def __init__(self, metric: Metric) -> None:
        self._metric = metric

    def collect(self) -> list[Metric]:
        return [self._metric]


def test_a_snapshot_is_exposed_as_a_prometheus_histogram() -> None:
    h = Histogram(INTERVAL_BUCKETS)
    for value in (0.02, 0.02, 0.021, 0.035, 0.3, 2.0):
        h.observe(value)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_One(histogram("radio_send_interval_seconds", "doc", h.snapshot())))
    text = generate_latest(registry).decode()
    [family] = text_string_to_metric_families(text)
    assert family.name == "radio_send_interval_seconds" and family.type == "histogram"
    buckets = {float(s.labels["le"]): s.value for s in family.samples if s.name.endswith("_bucket")}
    assert list(buckets) == [*INTERVAL_BUCKETS, float("inf")]
    assert buckets[0.019] == 0 and buckets[0.02] == 2 and buckets[0.021] == 3
    assert buckets[0.04] == 4 and buckets[0.25] == 4 and buckets[1.0] == 5
    values = list(buckets.values())
    assert values == sorted(values)  # cumulative
    [count] = [s.value for s in family.samples if s.name.endswith("_count")]
    [total] = [s.value for s in family.samples if s.name.endswith("_sum")]
    assert buckets[float("inf")] == count == 6
    assert total == pytest.approx(2.396)

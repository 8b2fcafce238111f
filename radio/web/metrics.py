"""``/metrics``: the station's counters in Prometheus's text format, read at scrape time.

:class:`StationCollector` is a ``prometheus_client`` custom collector: nothing is
instrumented on the audio path; each scrape reads the counters the station keeps
anyway (the sender's, the feed's, the root's dead air, the rooms' keepers, the
grid watcher, the supervisor, the request queue) through the
:class:`~radio.web.view.StationView`, and the event counts of
:class:`~radio.web.eventcounts.EventCounts`. Names follow Prometheus's habits:
a ``radio_`` prefix, ``_total`` for counters, base units, labels of bounded
cardinality (guild and room IDs, fixed classes).

Per room, ``radio_frames_sent_total`` counts the packets sent on the room's
current voice connection: a reconnection starts it again from zero, which
Prometheus's ``rate()`` and ``increase()`` treat as a counter reset.

``radio_send_interval_seconds`` is a histogram the sender keeps in plain
integers (:class:`~radio.histogram.Histogram`, no lock on the audio path); each
scrape turns its snapshot into a histogram family. ``radio_decoder_failures_total``
counts FFmpeg decoders that died while decoding, by process (a track's or a
live session's); ``radio_tracks_failed_total`` counts tracks, whatever the
reason (see :mod:`radio.web.eventcounts`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from radio.histogram import HistogramSnapshot
from radio.web.eventcounts import DECODER_FAILURES, DECODERS, EventCounts
from radio.web.health import judge
from radio.web.view import RoomCounters, StationView

REQUEST_STATES = ("queued", "taken", "played", "failed", "cancelled", "removed")


class StationCollector(Collector):
    """Reads ``view`` and ``events`` at each scrape; ``monotonic`` is the sender's clock
    (for ``radio_sending``)."""

    def __init__(
        self, view: StationView, events: EventCounts, monotonic: Callable[[], float]
    ) -> None:
        self._view = view
        self._events = events
        self._monotonic = monotonic

    def collect(self) -> Iterator[Metric]:
        """Every metric family, from one reading of the counters."""
        counters = self._view.counters()
        totals = self._events.totals()
        health = judge(self._view.sender(self._monotonic()))

        def counter(name: str, doc: str, value: float) -> CounterMetricFamily:
            return CounterMetricFamily(name, doc, value=value)

        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, doc, value=value)

        yield gauge("radio_sending", "1 while the sender keeps its schedule (/healthz)", health.ok)
        yield counter(
            "radio_frames_encoded",
            "Frames pulled from the station and Opus-encoded once for every room",
            counters.frames_encoded,
        )
        yield counter(
            "radio_frames_late",
            "Frames sent more than half a period (10 ms) after their deadline",
            counters.frames_late,
        )
        yield counter(
            "radio_frames_skipped",
            "Frames pulled but not sent because the sender was over 100 ms late",
            counters.frames_skipped,
        )
        yield counter(
            "radio_send_stalls",
            "Runs of frames sent more than 60 ms late: a dropout in listeners' jitter buffers",
            counters.send_stalls,
        )
        if counters.send_intervals is not None:
            yield histogram(
                "radio_send_interval_seconds",
                "Seconds between two consecutive frames of the sender (sent, or pulled with no"
                " room connected): 0.02 on time",
                counters.send_intervals,
            )
        yield counter(
            "radio_frames_no_room",
            "Frames pulled (programme kept in real time) while no room was connected",
            counters.frames_no_room,
        )
        yield counter(
            "radio_packets_sent", "Voice packets sent over all rooms (silence included)",
            counters.packets,
        )  # fmt: skip
        yield counter(
            "radio_station_faults",
            "Station reads that raised or returned a wrong-sized frame (sent as silence)",
            counters.station_faults,
        )
        yield counter(
            "radio_dead_air_frames", "Frames of dead air (nothing ready)", counters.dead_air_frames
        )
        yield gauge("radio_dead_air", "1 while the station is in dead air", counters.dead_air)
        yield counter(
            "radio_dead_air_events", "Times the station fell into dead air", totals.dead_air_events
        )
        yield counter(
            "radio_tracks_blank_skipped",
            "Tracks skipped because they stayed below -40 dBFS for the blank limit",
            totals.blank_skips,
        )
        yield from self._rooms(counters.rooms)
        started = CounterMetricFamily(
            "radio_tracks_started", "Tracks that went on air, by kind", labels=["kind"]
        )
        for kind in ("programme", "request"):
            started.add_metric([kind], totals.tracks_started.get(kind, 0))
        yield started
        failed = CounterMetricFamily(
            "radio_tracks_failed",
            "Tracks skipped because they failed, by reason",
            labels=["reason"],
        )
        for reason, count in sorted(totals.tracks_failed.items()):
            failed.add_metric([reason], count)
        yield failed
        decoders = CounterMetricFamily(
            "radio_decoder_failures",
            "FFmpeg decoders that died while decoding (killed by a signal, or an error exit),"
            " of a track or of a live session; none is restarted: the track or session ends",
            labels=["decoder", "reason"],
        )
        # every known series from the start (at 0), so that increase() sees the first one
        known = {(decoder, reason): 0 for decoder in DECODERS for reason, _ in DECODER_FAILURES}
        for (decoder, reason), count in sorted((known | totals.decoder_failures).items()):
            decoders.add_metric([decoder, reason], count)
        yield decoders
        states = GaugeMetricFamily(
            "radio_requests", "Listeners' requests in the database, by state", labels=["state"]
        )
        for state in REQUEST_STATES:
            states.add_metric([state], counters.requests_by_state.get(state, 0))
        yield states
        yield gauge(
            "radio_request_queue_length",
            "Requests still to play (up next and queued)",
            counters.requests_waiting,
        )
        reloads = CounterMetricFamily(
            "radio_grid_reloads", "Loads of the grid files, by result", labels=["result"]
        )
        reloads.add_metric(["applied"], counters.grid_reloads)
        reloads.add_metric(["rejected"], counters.grid_rejected)
        yield reloads
        yield gauge(
            "radio_grid_broken",
            "1 while the files on disk fail the checks (the last good grid is on air)",
            counters.grid_broken,
        )
        yield counter("radio_live_sessions", "Live takeovers of the air", totals.live_sessions)
        ended = CounterMetricFamily(
            "radio_live_ended", "Live sessions that let go of the air, by reason", labels=["reason"]
        )
        for reason, count in sorted(totals.live_ended.items()):
            ended.add_metric([reason], count)
        yield ended
        failures = CounterMetricFamily(
            "radio_task_failures", "Failures of supervised background tasks", labels=["task"]
        )
        restarts = CounterMetricFamily(
            "radio_task_restarts", "Restarts of supervised background tasks", labels=["task"]
        )
        for task, count in sorted(counters.task_failures.items()):
            failures.add_metric([task], count)
        for task, count in sorted(counters.task_restarts.items()):
            restarts.add_metric([task], count)
        yield failures
        yield restarts

    def _rooms(self, rooms: tuple[RoomCounters, ...]) -> Iterator[Metric]:
        labels = ["guild", "room"]
        sent = CounterMetricFamily(
            "radio_frames_sent",
            "Packets sent to the room on its current voice connection (reset on reconnection)",
            labels=labels,
        )
        joins = CounterMetricFamily(
            "radio_voice_connections", "Voice connections made to the room", labels=labels
        )
        close = GaugeMetricFamily(
            "radio_voice_last_close_code",
            "The close code of the room's last lost voice connection",
            labels=labels,
        )
        on_air = GaugeMetricFamily(
            "radio_room_on_air", "1 while the bot broadcasts in the room", labels=labels
        )
        listeners = GaugeMetricFamily(
            "radio_listeners", "Members other than bots in the broadcast room", labels=labels
        )
        for room in rooms:
            key = [str(room.guild), str(room.room)]
            joins.add_metric(key, room.joins)
            on_air.add_metric(key, room.on_air)
            if room.frames_sent is not None:
                sent.add_metric(key, room.frames_sent)
            if room.last_close_code is not None:
                close.add_metric(key, room.last_close_code)
            if room.listeners is not None:
                listeners.add_metric(key, room.listeners)
        yield from (sent, joins, close, on_air, listeners)


def histogram(name: str, doc: str, snapshot: HistogramSnapshot) -> HistogramMetricFamily:
    """``snapshot`` as a Prometheus histogram: one ``le`` bucket per bound, then
    ``+Inf`` (the count), and the sum."""
    buckets = [
        (floatToGoString(bound), float(count))  # type: ignore[no-untyped-call]
        for bound, count in zip(snapshot.bounds, snapshot.cumulative, strict=False)
    ]
    buckets.append(("+Inf", float(snapshot.count)))
    return HistogramMetricFamily(name, doc, buckets=buckets, sum_value=snapshot.total)


def registry_for(collector: StationCollector) -> CollectorRegistry:
    """A registry of its own holding ``collector`` and the process's own figures
    (``process_resident_memory_bytes``, ``process_open_fds``, CPU seconds: Linux
    only), not the process-wide default registry, which other code may fill."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    ProcessCollector(registry=registry)
    return registry

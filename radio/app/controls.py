"""What the commands may ask of the station: skip the track on air, say what comes next."""

from __future__ import annotations

from radio.audio.track import Track
from radio.station import Station
from radio.store.requests import RequestQueue


class StationControls:
    """The commands' handle on one station (``radio.bot.commands.StationControls``)."""

    def __init__(self, station: Station, queue: RequestQueue) -> None:
        self._station = station
        self._queue = queue

    def skip(self) -> bool:
        """Cut the track on air (a request or the programme's); False when none plays."""
        return self._station.skip()

    def next_up(self) -> Track | None:
        """The next track when known: the first queued request, else the track the
        sequence on air has already opened (from about ten seconds before the end)."""
        pending = self._queue.pending()
        if pending:
            return pending[0].as_track()
        sequence = self._station.on_air_sequence()
        return sequence.preloaded if sequence is not None else None

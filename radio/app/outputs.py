"""The station's Icecast mounts, built from station.yaml's ``outputs:`` and wired to the station.

Each mount in ``outputs.icecast`` becomes an :class:`~radio.outputs.icecast.IcecastOutput`
fed by the feed's taps (the station's one Opus encode; ``every_frame``, so the
mount plays on whether or not a Discord room listens) and titled by the
station's events (tracks, live sessions). Its password comes from the
environment variable the mount names. A mount whose password is missing is
left off with one message to the admins; the station plays on.

An entry's ``mp3:`` adds an :class:`~radio.outputs.mp3.Mp3Output` on the same
server, fed from the same taps: it decodes the packets with libopus and has
FFmpeg encode them to MP3.

When a mount goes down the admins are told once ("down since …"), and once
when it is back (with how long it was down); the output itself retries with
backoff and logs each change. This is the application layer: it reads the
wall clock (for the times in those messages).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime

from radio.bot.announcements import Announcer
from radio.bot.audio import PacketTaps
from radio.clock import Clock
from radio.config.outputs import IcecastOutputModel
from radio.errors import ConfigError
from radio.events import EventBus
from radio.outputs.icecast import IcecastChange, IcecastOutput
from radio.outputs.icecast_client import IcecastMount, SourceInfo
from radio.outputs.mp3 import Mp3Output, OpusDecoder
from radio.outputs.opus_decoder import OpusPcmDecoder
from radio.settings import secret_from_env

logger = logging.getLogger(__name__)

Secret = Callable[[str], str]


def _environment_secret(name: str) -> str:
    return secret_from_env(name).get_secret_value()


class StationOutputs:
    """The Icecast mounts of one station: built at once, fed from :meth:`start` to :meth:`close`."""

    def __init__(
        self,
        mounts: Sequence[IcecastOutputModel],
        *,
        taps: PacketTaps,
        events: EventBus,
        announcer: Announcer,
        clock: Clock,
        monotonic: Callable[[], float],
        secret: Secret = _environment_secret,
        decoder: Callable[[], OpusDecoder] = OpusPcmDecoder,
    ) -> None:
        self._taps = taps
        self._announcer = announcer
        self._clock = clock
        self._lock = threading.Lock()
        self._down_since: dict[str, datetime] = {}
        self._detach: list[Callable[[], None]] = []
        self.outputs: list[IcecastOutput] = []
        self.mp3: list[Mp3Output] = []
        for model in mounts:
            info = SourceInfo(name=model.name, description=model.description)
            found = self._login(model.url, model.password_env, secret)
            if found is not None:
                output = IcecastOutput(
                    *found, monotonic=monotonic, info=info, on_change=self._changed
                )
                # Titles from now on (the first track's event comes with its first frame).
                self._detach.append(events.subscribe(output.on_event))
                self.outputs.append(output)
            if model.mp3 is None or model.mp3_url is None:
                continue
            found = self._login(model.mp3_url, model.mp3.password_env or model.password_env, secret)
            if found is not None:
                mp3 = Mp3Output(
                    *found,
                    decoder=decoder,
                    monotonic=monotonic,
                    info=info,
                    on_change=self._changed,
                    bitrate_kbps=model.mp3.bitrate,
                    sample_rate=model.mp3.sample_rate,
                )
                self._detach.append(events.subscribe(mp3.on_event))
                self.mp3.append(mp3)

    def _login(self, url: str, variable: str, secret: Secret) -> tuple[IcecastMount, str] | None:
        """The mount and its password; None (the admins told why) when either is wanting."""
        try:
            return IcecastMount.from_url(url), secret(variable)
        except ConfigError as exc:
            message = f"The Icecast mount {url} is off until a restart: {exc}"
            logger.error("%s", message)
            self._announcer.alert("outputs", message, admins=True)
            return None

    def start(self) -> None:
        """Connect every mount and feed it the station's packets."""
        for output in self._all():
            output.start()
            self._detach.append(self._taps.add(output.packet, every_frame=True))

    async def close(self) -> None:
        """Stop feeding the mounts, end their streams and stop their threads. Idempotent."""
        for detach in self._detach:
            detach()
        self._detach.clear()
        for output in self._all():
            if not await asyncio.to_thread(output.close):
                logger.error("icecast %s: the output did not stop in time", output.mount)

    def _all(self) -> list[IcecastOutput | Mp3Output]:
        return [*self.outputs, *self.mp3]

    def diagnostics(self) -> list[str]:
        """One line per mount for ``diag``: up or down, packets sent and lost."""
        lines = []
        for output in self.outputs:
            stats = output.stats()
            lines.append(
                f"icecast {output.mount}: {'up' if stats.up else 'down'},"
                f" {stats.sent} packets sent, {stats.dropped} dropped (queue full),"
                f" {stats.discarded} while down, {stats.connections} connection(s),"
                f" {stats.failures} failure(s)"
            )
        for mp3 in self.mp3:
            got = mp3.stats()
            lines.append(
                f"icecast {mp3.mount} (MP3): {'up' if got.up else 'down'},"
                f" {got.frames} frames sent, {got.dropped} packets dropped (queue full),"
                f" {got.discarded} while down, {got.connections} connection(s),"
                f" {got.failures} failure(s), {got.encoder_failures} FFmpeg failure(s)"
            )
        return lines

    def _changed(self, change: IcecastChange) -> None:
        # The output's thread: the announcer is thread-safe.
        now = self._clock.now()
        with self._lock:
            if not change.up:
                if change.mount in self._down_since:
                    return
                self._down_since[change.mount] = now
                since = None
            else:
                since = self._down_since.pop(change.mount, None)
        if not change.up:
            message = (
                f"The Icecast output {change.mount} is down since {now:%Y-%m-%d %H:%M:%S %Z}"
                f" ({change.reason}); it is retried with backoff, Discord is not affected."
            )
        elif since is not None:
            minutes = max(1, round((now - since).total_seconds() / 60))
            message = (
                f"The Icecast output {change.mount} is back"
                f" (down since {since:%Y-%m-%d %H:%M:%S %Z}, about {minutes} min)."
            )
        else:
            return  # up at start: nothing to tell
        self._announcer.alert("outputs", message, admins=True)


__all__ = ["StationOutputs"]

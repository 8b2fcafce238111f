"""A relay node's packet source for the sender: the mount's packets, paced, or silence.

:class:`RelayFeed` is the :class:`~radio.bot.sender.PacketSource` of a relay
node's :class:`~radio.bot.sender.Broadcaster`: on each 20 ms frame of the
sender's grid it takes the next packet from the
:class:`~radio.relay.jitter.JitterBuffer`, unchanged (no decode, no encode),
or one Opus silence frame while the buffer is filling (the mount is away, or
coming back). Listeners hear the programme, or silence, never a burst: the
sender's own schedule paces every packet.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from radio.bot.audio import OPUS_SILENCE
from radio.outputs.titles import StreamTitle
from radio.relay.jitter import JitterBuffer

logger = logging.getLogger(__name__)


class RelayFeed:
    """The sender's packets from a jitter buffer (see the module docstring).

    ``on_title`` is called from the sender thread with the title of the chain
    whose first packet is being sent: it must return at once (hand the title
    to an event loop). A callback that raises is logged once and the feed goes
    on. After :meth:`close` the feed gives nothing (the sender stops).
    """

    def __init__(
        self,
        buffer: JitterBuffer,
        *,
        on_title: Callable[[StreamTitle], None] = lambda title: None,
    ) -> None:
        self.buffer = buffer
        self._on_title = on_title
        self._closed = threading.Event()
        self._title_failures = 0

    def next_packet(self) -> bytes | None:
        """The mount's next packet, or Opus silence while filling; None once closed."""
        if self._closed.is_set():
            return None
        packet, title = self.buffer.take()
        if title is not None:
            self._tell(title)
        return OPUS_SILENCE if packet is None else packet

    def prepare(self) -> bool:
        """Nothing to prepare: the packets come encoded. Always False."""
        return False

    def skip(self, frames: int) -> int:
        """Let ``frames`` frames go by unsent (no room listens, or the sender is late).

        The buffer moves on in real time all the same, so a room that comes
        back hears the live edge. Returns ``frames``, or 0 once closed.
        """
        if self._closed.is_set():
            return 0
        for _ in range(frames):
            _, title = self.buffer.take()
            if title is not None:
                self._tell(title)
        return frames

    def close(self) -> None:
        """Stop giving packets (the sender then hushes its rooms). Idempotent."""
        self._closed.set()

    def _tell(self, title: StreamTitle) -> None:
        try:
            self._on_title(title)
        except Exception:
            self._title_failures += 1
            if self._title_failures == 1:
                logger.exception("handing the title %r on failed", title.title)

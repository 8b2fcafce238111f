"""Who is on mic on the stage, and when: the keys of the station's duck.

A member is *eligible* while they may key the duck (``allowed``: a presenter
of the show on air, or a DJ/admin), their mic switch is on (``/live mic``; the
show's ``live.mic`` by default), and they are on the stage as a speaker (not
suppressed) and not muted. Two ways to know when an eligible member talks:

- **voice-state mode** (needs only the gateway): an eligible member is on mic
  for as long as they are eligible (their mic is open).
- **packet mode**: Discord relays every member's voice packets to the bot's
  voice connection. Only the clear RTP header is read: its SSRC, mapped to a
  user by the voice WebSocket's SPEAKING (op 5). A member talks from their
  first packet and stops :data:`STOP_AFTER` seconds after their last (clients
  send nothing in silences). Nothing else of the packet is read, decoded or kept.

The mode is packet mode once the connection has carried a packet from any
member, voice-state mode before that (:meth:`TalkOver.connected` starts over
with each voice connection), so a connection that gives no packets falls back
by itself. A member on mic keys the duck; the duck's hold bridges their pauses.

Times are ``monotonic`` seconds passed in; the duck's stream position (samples)
is read at each change, and a stop learnt late is placed at its last packet.
Thread-safe: :meth:`packet` runs on the voice socket's reader thread (one dict
lookup per packet), everything else on the event loop.
"""

from __future__ import annotations

import logging
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass

from radio.audio.duck import Duck
from radio.audio.frames import SAMPLE_RATE

logger = logging.getLogger(__name__)

STOP_AFTER = 0.2  # seconds without a packet that end a talk-spurt
_RTP_HEADER = 12
_SSRC = struct.Struct(">I")
_OPUS = 0x78


@dataclass
class _Member:
    stage: bool = False  # on the stage (or the room) as a speaker, not suppressed
    muted: bool = True  # self- or server-muted
    mic: bool | None = None  # the session's /live mic switch; None: the show's default
    talking: bool = False
    last_packet: float = 0.0
    keyed: bool = False


class TalkOver:
    """Keys ``duck`` for the members on mic (see the module docstring).

    ``allowed(user_id)`` says whether a member may key the duck now;
    ``mic_default()`` is the show's ``live.mic``; ``on_change(user_ids)`` hears
    the members on mic, in the order they came on, after every change (on the
    thread that made it). ``stop_after`` is the silence that ends a talk-spurt.
    """

    def __init__(
        self,
        duck: Duck,
        monotonic: Callable[[], float],
        *,
        allowed: Callable[[int], bool] = lambda user_id: False,
        mic_default: Callable[[], bool] = lambda: True,
        on_change: Callable[[tuple[int, ...]], None] = lambda users: None,
        stop_after: float = STOP_AFTER,
    ) -> None:
        self._duck = duck
        self._monotonic = monotonic
        self._allowed = allowed
        self._mic_default = mic_default
        self._on_change = on_change
        self._stop_after = stop_after
        self._lock = threading.Lock()
        self._members: dict[int, _Member] = {}
        self._ssrcs: dict[int, int] = {}  # SSRC -> user id (op 5)
        self._packets = False  # the connection carries members' packets: packet mode
        self._on_mic: tuple[int, ...] = ()
        self.packets_seen = 0  # packets of known members, for the diagnostics

    # -- what the gateway and the voice WebSocket say ------------------------------

    @property
    def packet_mode(self) -> bool:
        return self._packets

    @property
    def on_mic(self) -> tuple[int, ...]:
        """The members on mic now, in the order they came on."""
        return self._on_mic

    def connected(self) -> None:
        """A new voice connection: SSRCs and the mode start over."""
        with self._lock:
            self._ssrcs.clear()
            self._packets = False
            for member in self._members.values():
                member.talking = False
        self.refresh()

    def voice_state(self, user_id: int, *, stage: bool, muted: bool) -> None:
        """A member's voice state: ``stage`` when on the broadcast room as a speaker."""
        with self._lock:
            member = self._members.setdefault(user_id, _Member())
            member.stage, member.muted = stage, muted
            if not stage and member.mic is not None:
                member.mic = None  # the session's switch ends when they leave the stage
        self.refresh()

    def set_mic(self, user_id: int, on: bool | None) -> None:
        """``/live mic on|off`` for this session; None goes back to the show's default."""
        with self._lock:
            self._members.setdefault(user_id, _Member()).mic = on
        self.refresh()

    def mic_switch(self, user_id: int) -> bool:
        """Whether ``user_id``'s mic switch is on (theirs, else the show's default)."""
        with self._lock:
            member = self._members.get(user_id)
            mine = None if member is None else member.mic
        return self._mic_default() if mine is None else mine

    def speaking(self, ssrc: int, user_id: int) -> None:
        """SPEAKING (op 5): ``ssrc`` is ``user_id``'s."""
        with self._lock:
            self._ssrcs[ssrc] = user_id

    # -- packets (the socket reader's thread) --------------------------------------

    def packet(self, datagram: bytes) -> None:
        """One datagram from the voice socket: note who sent it, by its clear SSRC."""
        if len(datagram) < _RTP_HEADER or datagram[1] & 0x7F != _OPUS:
            return  # RTCP, discovery answers: not voice
        user_id = self._ssrcs.get(_SSRC.unpack_from(datagram, 8)[0])
        if user_id is None:
            return
        now = self._monotonic()
        member = self._members.get(user_id)
        if member is not None and member.talking and self._packets:
            member.last_packet = now  # the hot path: one spurt goes on
            self.packets_seen += 1
            return
        with self._lock:
            member = self._members.setdefault(user_id, _Member())
            member.talking = True
            member.last_packet = now
            self._packets = True
            self.packets_seen += 1
        self.refresh()

    def tick(self) -> None:
        """End the talk-spurts whose last packet is ``stop_after`` old (call often)."""
        now = self._monotonic()
        ended = False
        with self._lock:
            for member in self._members.values():
                if member.talking and now - member.last_packet >= self._stop_after:
                    member.talking = False
                    ended = True
        if ended:
            self.refresh()

    # -- keying ------------------------------------------------------------------------

    def refresh(self) -> None:
        """Judge every member again (the show on air or the rules may have changed)."""
        default = self._mic_default()
        now = self._monotonic()
        position = self._duck.position
        with self._lock:
            changes: list[tuple[int, bool, int]] = []
            for user_id, member in self._members.items():
                mic = default if member.mic is None else member.mic
                eligible = member.stage and not member.muted and mic
                keyed = (
                    eligible and (member.talking or not self._packets) and self._allowed(user_id)
                )
                if keyed == member.keyed:
                    continue
                member.keyed = keyed
                at = position
                if not keyed and member.talking is False and self._packets:
                    # the spurt ended at its last packet, learnt up to stop_after later
                    at = position - round(max(0.0, now - member.last_packet) * SAMPLE_RATE)
                changes.append((user_id, keyed, at))
            order = [u for u in self._on_mic if self._members[u].keyed]
            order += [u for u, keyed, _ in changes if keyed]
            self._on_mic = tuple(order)
            on_mic = self._on_mic
        for user_id, keyed, at in changes:
            if keyed:
                self._duck.key_on(user_id, at)
            else:
                self._duck.key_off(user_id, at)
            logger.info("member %d %s mic", user_id, "on" if keyed else "off")
        if changes:
            self._on_change(on_mic)


__all__ = ["STOP_AFTER", "TalkOver"]

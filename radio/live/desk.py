"""The live desk: who may go live, which session holds the air, and how each way
in reaches the station's live source.

::

    encoder ──► IngestServer ──open_source()──┐
    /live relay, a show's live.relay ─────────┤
                                              ▼
                                          LiveDesk ── one session at a time
                                              │  LiveFeed (FFmpeg, pipe only) → PcmBuffer
                                              ▼
                                   station.live (LiveSource) ── grace, blank, hand-over
                                              │
                            RecordingTap (armed while the show records)

Rules:

* One session at a time. A second presenter is refused ("Mountpoint in use")
  while the first one's source is connected, until the first one's show has
  ended; once it has disconnected (its grace running), the next presenter
  takes over with no programme in between.
  The same presenter reconnecting replaces their own session.
* A DJ or admin may force a hand-over (``/live relay … force``) or stop any
  session; a presenter stopped by someone else is kept out until they run
  ``/live start`` again, so their encoder's automatic reconnect does not take
  the air back.
* A source that sends bytes but no audio (garbage, a wrong format) for longer
  than the grace is ended with a reason; the programme never left.
* Every session is logged in the store (a crash leaves it open: it is ended as
  "interrupted" at the next start); every refusal and failure is one log line
  and a :class:`~radio.events.LiveProblem` event for the programmers' room.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import aiohttp

from radio.clock import Clock
from radio.errors import DecoderError, LiveRefused, OutputError, RadioError, SourceError
from radio.events import Event as StationEvent
from radio.events import EventSink, LiveEnded, LiveProblem, LiveTitle
from radio.grid.live_slot import LiveSlot
from radio.live.contracts import Credentials, LiveStatus, Presenter, SourceRequest
from radio.live.feed import LiveFeed, demuxer_for
from radio.live.pcm_buffer import PcmBuffer
from radio.live.policy import MemberInfo, live_slot_for
from radio.live.relay import StreamRelay, validate_url
from radio.live.source import LiveInput, LiveSource
from radio.outputs.recording import Recorder
from radio.outputs.tap import RecordingTap
from radio.store.live_sessions import LiveSessions
from radio.store.presenters import PresenterCredentials
from radio.tasks import Supervisor

logger = logging.getLogger(__name__)

MemberLookup = Callable[[int], Awaitable[MemberInfo | None]]
SlotsNear = Callable[[datetime], list[LiveSlot]]
GRID_RELAY_RETRY_S = 5.0
MEMBER_LOOKUP_S = 10.0  # seconds an encoder waits while Discord is asked who it is
_TITLE_MAX = 300


@dataclass(frozen=True)
class DeskOptions:
    """The desk's settings (from station.yaml's ``live:``)."""

    mount: str = "/live"
    public: str = "127.0.0.1:8005"  # host:port as presenters reach it
    grace: float = 5.0
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    recordings: Path | None = None  # None: never record
    relay_connect_timeout: float = 10.0
    relay_stall_timeout: float = 10.0
    grid_retry: float = GRID_RELAY_RETRY_S  # seconds between a grid relay's attempts


@dataclass(eq=False)
class _Session:
    presenter: Presenter
    via: str  # "encoder" or "relay"
    source: str  # the mount, or the relayed URL
    show: LiveSlot | None
    feed: LiveFeed
    live_input: LiveInput
    store_id: int
    started: datetime
    opened: float  # monotonic
    title: str = ""
    ended: str | None = None
    task: asyncio.Task[None] | None = None
    grid: bool = False  # a relay the grid runs


class _EncoderIngest:
    """One encoder connection's way into its session (radio.live.contracts.LiveIngest)."""

    def __init__(self, desk: LiveDesk, session: _Session) -> None:
        self._desk = desk
        self._session = session

    async def write(self, data: bytes) -> None:
        await self._desk._write(self._session, data)

    async def finish(self, reason: str) -> None:
        await self._desk._finish(self._session, reason)


class LiveDesk:
    """The live session rules (see the module docstring); the ingest server's
    :class:`~radio.live.contracts.IngestHandler` and the ``/live`` commands'
    :class:`~radio.live.contracts.LiveControls`.

    ``slots(now)`` lists the shows a presenter may go live in at ``now`` (the one on
    air first); ``members(user_id)`` tells who a Discord user is (None: not a member
    of the station's server). Must be used from one event loop.
    """

    def __init__(
        self,
        live: LiveSource,
        *,
        credentials: PresenterCredentials,
        sessions: LiveSessions,
        clock: Clock,
        monotonic: Callable[[], float],
        slots: SlotsNear,
        members: MemberLookup,
        events: EventSink,
        options: DeskOptions | None = None,
        recordings: RecordingTap | None = None,
        position: Callable[[], int] | None = None,
    ) -> None:
        self.live = live
        self._station_position = position
        self.options = options or DeskOptions()
        self._credentials = credentials
        self._sessions = sessions
        self._clock = clock
        self._monotonic = monotonic
        self._slots = slots
        self._members = members
        self._events = events
        self._tap = recordings
        self._session: _Session | None = None  # the newest session (connected or draining)
        self._locked: dict[int, str] = {}  # presenter id → who stopped them
        self._http: aiohttp.ClientSession | None = None
        self._grid_task: asyncio.Task[None] | None = None
        self._closed = False
        self.refusals = 0

    # -- the ingest server's side ------------------------------------------------

    async def open_source(self, request: SourceRequest) -> _EncoderIngest:
        """Authorise an encoder and start its session (IngestHandler.open_source).

        Raises LiveRefused: 404 unknown mount, 401 bad credentials, 403 not a member,
        outside their slot, kept out after a stop, mount in use, content type."""
        try:
            if request.mount != self.options.mount:
                raise LiveRefused(404, f"Mountpoint {request.mount[:80]!r} not found")
            demuxer_for(request.content_type)
            user_id = await asyncio.to_thread(
                self._credentials.verify, request.user, request.password
            )
            if user_id is None:
                raise LiveRefused(401, "Authentication failed")
            presenter, slot = await self._authorise(user_id)
            self._claim(presenter, force=False)
        except LiveRefused as refused:
            self._refused(request.user or request.peer, refused, request.peer)
            raise
        session = await self._start(presenter, "encoder", request.mount, slot, request.content_type)
        name = request.headers.get("ice-name", "").strip()
        if name:
            self._set_title(session, name)
        return _EncoderIngest(self, session)

    async def update_metadata(
        self, *, mount: str, user: str, password: str, song: str, peer: str
    ) -> None:
        """The encoder's now-playing text becomes the session's title.

        Raises LiveRefused: 401 bad credentials, 404 no session on that mount,
        403 the session is someone else's."""
        user_id = await asyncio.to_thread(self._credentials.verify, user, password)
        if user_id is None:
            raise LiveRefused(401, "Authentication failed")
        session = self._session
        if session is None or session.ended is not None or session.source != mount:
            raise LiveRefused(404, "Source does not exist")
        if session.presenter.user_id != user_id:
            member = await self._member(user_id)
            if member is None or not member.privileged:
                raise LiveRefused(403, "That live session is someone else's")
        self._set_title(session, song)

    def mount_refused(self, user: str, peer: str, status: int, reason: str) -> None:
        """The mount itself refused an encoder that gave credentials (an unsupported
        format): logged and told to the programmers like the desk's own refusals."""
        self._refused(user or peer, LiveRefused(status, reason), peer)

    # -- the /live commands' side --------------------------------------------------

    def status(self) -> LiveStatus | None:
        """The session on air, or None (LiveControls.status)."""
        session = self._session
        holder = self.live.on_air
        if session is None or (session.ended is not None and holder is not session.live_input):
            return None
        return LiveStatus(
            presenter=session.presenter.name,
            show=session.show.title if session.show is not None else "",
            via=session.via,
            since=session.started.isoformat(timespec="seconds"),
            title=session.title,
            bytes_in=session.feed.bytes_in,
            frames_in=session.live_input.buffer.frames_out,
            recording=self._recording_path(),
            on_air=holder is session.live_input and session.ended is None,
        )

    async def connection(self, who: Presenter) -> str:
        """How ``who`` connects an encoder, and whether they may now. Running it is
        ``/live start``: it also lifts a stop that kept them out."""
        self._locked.pop(who.user_id, None)
        user = await asyncio.to_thread(self._credentials.user_name, who.user_id)
        host = self.options.public
        mount = self.options.mount
        lines = [
            f"Server `{host}`, mount `{mount}`, user `{user or '(none yet)'}`,"
            " password from `/live password`.",
            f"As one line: `icecast://{user or 'USER'}:PASSWORD@{host}{mount}`",
            "Send MP3 (128-320 kb/s) or Ogg/Opus, stereo; your audio goes on air"
            " as soon as it arrives.",
        ]
        try:
            _, slot = await self._authorise(who.user_id)
        except LiveRefused as refused:
            lines.append(f"Not now: {refused.reason}")
        else:
            lines.append(f"You may go live now ({slot.title})." if slot else "You may go live now.")
        return "\n".join(lines)

    async def rotate_password(self, who: Presenter) -> Credentials:
        """New encoder credentials for ``who`` (the old password stops working)."""
        return await asyncio.to_thread(self._credentials.rotate, who.user_id, who.name)

    async def start_relay(self, who: Presenter, url: str, *, force: bool = False) -> str:
        """Relay the stream at ``url`` for ``who``; ``force`` (DJs/admins) ends the
        session on air first. Raises LiveRefused with the reason."""
        url = validate_url(url)
        if force and not who.privileged:
            raise LiveRefused(403, "Only DJs and admins can force a hand-over.")
        presenter, slot = await self._authorise(who.user_id)
        self._claim(presenter, force=force)
        session = await self._open_relay(presenter, url, slot, grid=False)
        host = urlsplit(url).hostname or url
        return f"Relaying {host} for {session.presenter.name}: on air as soon as its audio arrives."

    async def stop(self, who: Presenter) -> str:
        """End the session on air (its presenter, or a DJ/admin)."""
        session = self._session
        if session is None or (session.ended is not None and self.live.on_air is None):
            raise LiveRefused(404, "Nobody is live.")
        if session.presenter.user_id != who.user_id:
            if not who.privileged:
                raise LiveRefused(
                    403, f"Only {session.presenter.name} or a DJ can stop this live session."
                )
            self._locked[session.presenter.user_id] = who.name
        self.live.stop("stopped")  # first: the air is let go at the next frame, whatever follows
        await self._end(session, f"stopped by {who.name}", drain=False)
        return f"Live stopped ({session.presenter.name}); the programme is back."

    # -- life cycle ---------------------------------------------------------------

    def start(self, supervisor: Supervisor | None = None) -> None:
        """End sessions a crash left open, and start following the grid's relays
        under ``supervisor`` (a failure is logged, counted and the task restarted;
        by default after ``grid_retry`` seconds)."""
        now = _utc(self._clock.now())
        for left in self._sessions.end_open(now):
            logger.info("live session %d (%s) was interrupted", left.id, left.presenter_name)
        if supervisor is None:
            retry = self.options.grid_retry
            supervisor = Supervisor(delay=lambda _: retry, monotonic=self._monotonic)
        self._grid_task = supervisor.spawn("grid-relays", self._follow_grid_relays)

    def on_event(self, event: StationEvent) -> None:
        """Station events: a live source that let go ends a drained session's recording
        by itself (the tap); nothing else is needed yet."""
        if isinstance(event, LiveEnded):
            logger.info("live: %s let go of the air (%s)", event.presenter, event.reason)

    async def close(self) -> None:
        """End every session and stop following the grid. Idempotent."""
        self._closed = True
        if self._grid_task is not None:
            self._grid_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._grid_task
        session = self._session
        if session is not None:
            await self._end(session, "the station stopped", drain=False)
            session.feed.close()  # one that ended draining may still be backed up
        if self._tap is not None:
            await asyncio.to_thread(self._tap.disarm)
        if self._http is not None:
            await self._http.close()

    # -- internals ------------------------------------------------------------

    async def _member(self, user_id: int) -> MemberInfo | None:
        """Who ``user_id`` is, asked of Discord within a bound: an encoder waits for
        the answer, so a Discord that does not answer is a clear refusal, not a hang.
        Raises LiveRefused(503)."""
        try:
            async with asyncio.timeout(MEMBER_LOOKUP_S):
                return await self._members(user_id)
        except TimeoutError:
            logger.warning("live: Discord did not say who user %d is in time", user_id)
            raise LiveRefused(503, "Discord did not answer in time: try again") from None

    async def _authorise(self, user_id: int) -> tuple[Presenter, LiveSlot | None]:
        member = await self._member(user_id)
        if member is None:
            raise LiveRefused(403, "You are not a member of the station's server.")
        stopper = self._locked.get(user_id)
        if stopper is not None:
            raise LiveRefused(
                403,
                f"Your live session was stopped by {stopper}: run /live start to go live again.",
            )
        slot = live_slot_for(user_id, member, self._slots(self._clock.now()))
        return Presenter(user_id, member.name, member.privileged), slot

    def _claim(self, presenter: Presenter, *, force: bool) -> None:
        """Make room for ``presenter``'s session, or refuse (403 Mountpoint in use)."""
        session = self._session
        if session is None or session.ended is not None:
            return  # nobody connected: the next presenter may take over within the grace
        if session.presenter.user_id == presenter.user_id or force or session.grid:
            return  # a reconnect replaces its own session; a forced or grid relay gives way
        show = session.show
        if show is not None and show.end is not None and show.end <= self._clock.now():
            return  # their show is over: the next presenter may take over
        raise LiveRefused(
            403,
            f"Mountpoint in use: {session.presenter.name} is live now;"
            " a DJ can hand over with /live relay … force, or /live stop.",
        )

    async def _start(
        self,
        presenter: Presenter,
        via: str,
        source: str,
        slot: LiveSlot | None,
        content_type: str,
        *,
        grid: bool = False,
    ) -> _Session:
        previous = self._session
        if previous is not None and previous.ended is None:
            reason = (
                "replaced by a new connection"
                if previous.presenter.user_id == presenter.user_id
                else f"handed over to {presenter.name}"
            )
            await self._end(previous, reason, drain=False)
        elif previous is not None:
            previous.feed.close()  # it ended draining; its input is no longer read
        buffer = PcmBuffer()
        feed = LiveFeed(content_type, buffer, name=f"live-{presenter.name}")
        now = self._clock.now()
        live_input = LiveInput(
            buffer=buffer, presenter=presenter.name, via=via, show=slot.show_id if slot else ""
        )
        recorder = await self._recorder(presenter, slot, now) if slot and slot.record else None
        try:
            store_id = await asyncio.to_thread(
                self._sessions.start,
                presenter_id=presenter.user_id,
                presenter_name=presenter.name,
                show_id=slot.show_id if slot else None,
                via="relay" if via == "relay" else "encoder",
                source=source,
                at=_utc(now),
                recording=str(recorder.path) if recorder is not None else None,
            )
        except RadioError:
            feed.close()
            if recorder is not None:
                await asyncio.to_thread(recorder.close)
            raise
        session = _Session(
            presenter=presenter,
            via=via,
            source=source,
            show=slot,
            feed=feed,
            live_input=live_input,
            store_id=store_id,
            started=now,
            opened=self._monotonic(),
            grid=grid,
        )
        self._session = session
        if recorder is not None and self._tap is not None and slot is not None:
            self._tap.arm(recorder, again=self._next_recording(presenter, slot))
        self.live.attach(live_input)
        logger.info("live: %s connected via %s (%s)", presenter.name, via, source)
        return session

    async def _recorder(
        self, presenter: Presenter, slot: LiveSlot, started: datetime
    ) -> Recorder | None:
        """The session's recording file, opened (None: recordings are off, or the file
        cannot be made: the presenter goes on air anyway, the programmers are told)."""
        root = self.options.recordings
        if self._tap is None or root is None:
            return None
        try:
            return await asyncio.to_thread(
                Recorder,
                root,
                show_id=slot.show_id,
                presenter=presenter.name,
                started=started.astimezone(self.options.tz),
                title=slot.title,
            )
        except OutputError as exc:
            logger.error("live: cannot record %s: %s", presenter.name, exc)
            self._problem(presenter.name, f"recording could not start: {exc}")
            return None

    def _next_recording(self, presenter: Presenter, slot: LiveSlot) -> Callable[[], Recorder]:
        """The session's next file, when its audio takes the air again (called by the
        recording worker: it opens a file)."""
        root = self.options.recordings
        assert root is not None

        def make() -> Recorder:
            return Recorder(
                root,
                show_id=slot.show_id,
                presenter=presenter.name,
                started=self._clock.now().astimezone(self.options.tz),
                title=slot.title,
            )

        return make

    def _recording_path(self) -> str | None:
        path = self._tap.recording if self._tap is not None else None
        return str(path) if path is not None else None

    async def _write(self, session: _Session, data: bytes) -> None:
        if session.ended is not None:
            raise LiveRefused(403, f"Your live session ended: {session.ended}")
        try:
            await session.feed.write(data)
        except DecoderError as exc:
            await self._end(session, str(exc), drain=False)
            self._problem(session.presenter.name, str(exc))
            raise LiveRefused(403, f"Your live session ended: {exc}") from None
        waited = self._monotonic() - session.opened
        if session.live_input.buffer.bytes_in == 0 and waited > max(self.options.grace, 5.0):
            reason = (
                f"no audio could be decoded from {session.feed.bytes_in} bytes in"
                f" {waited:.0f} s: check the encoder's format"
            )
            await self._end(session, reason, drain=False)
            self._problem(session.presenter.name, reason)
            raise LiveRefused(403, f"Your live session ended: {reason}")

    async def _finish(self, session: _Session, reason: str) -> None:
        await self._end(session, reason, drain=True)

    async def _end(self, session: _Session, reason: str, *, drain: bool) -> None:
        """End ``session`` once: with ``drain`` the decoder plays out what it has
        (the encoder stopped), else it is cut (replaced, stopped, failed)."""
        if session.ended is not None:
            return
        session.ended = reason
        task = session.task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        if drain:
            await session.feed.end()
        else:
            self.live.detach(session.live_input)
            session.feed.close()
        logger.info("live: %s's session ended: %s", session.presenter.name, reason)
        try:
            await asyncio.to_thread(
                self._sessions.end,
                session.store_id,
                at=_utc(self._clock.now()),
                reason=reason,
                bytes_in=session.feed.bytes_in,
                frames_in=session.live_input.buffer.frames_out,
                recording=self._recording_path(),
            )
        except RadioError as exc:
            logger.error("live: cannot log the end of session %d: %s", session.store_id, exc)

    async def _open_relay(
        self, presenter: Presenter, url: str, slot: LiveSlot | None, *, grid: bool
    ) -> _Session:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        relay = StreamRelay(
            url,
            session=self._http,
            connect_timeout=self.options.relay_connect_timeout,
            stall_timeout=self.options.relay_stall_timeout,
        )
        try:
            content_type = await relay.open()
            session = await self._start(presenter, "relay", url, slot, content_type, grid=grid)
        except BaseException:
            await relay.close()
            raise
        session.task = asyncio.get_running_loop().create_task(
            self._run_relay(session, relay), name=f"relay-{presenter.name}"
        )
        return session

    async def _run_relay(self, session: _Session, relay: StreamRelay) -> None:
        try:
            reason = await relay.run(
                lambda data: self._write(session, data),
                lambda title: self._set_title(session, title),
            )
        except asyncio.CancelledError:
            reason = "the relay was stopped"
            raise
        except (SourceError, LiveRefused) as exc:
            reason = str(exc)
            self._problem(session.presenter.name, f"relay of {relay.url}: {reason}")
        except Exception as exc:
            reason = f"the relay failed: {exc}"
            logger.exception("live: relay of %s failed", relay.url)
            self._problem(session.presenter.name, reason)
        finally:
            await relay.close()
        await self._end(session, reason, drain=True)

    async def _follow_grid_relays(self) -> None:
        """A show with ``live.relay`` relays its stream for the whole slot, retrying
        every few seconds; when the slot ends, the relay ends. A failure reaches
        the supervisor (:meth:`start`)."""
        while not self._closed:
            await self._grid_relay_step()
            await asyncio.sleep(self.options.grid_retry)

    async def _grid_relay_step(self) -> None:
        now = self._clock.now()
        slots = self._slots(now)
        # only the show on air relays (the first slot may be the next show, within
        # its early margin, when the fallback plays now)
        on_air = (
            slots[0]
            if slots and slots[0].relay and (slots[0].start is None or slots[0].start <= now)
            else None
        )
        session = self._session
        running = session is not None and session.ended is None
        if session is not None and running and session.grid:
            if on_air is None or on_air.relay != session.source:
                self.live.stop("ended")
                await self._end(session, "its slot ended", drain=False)
            return
        if on_air is None or running or on_air.relay is None:
            return
        presenter = Presenter(0, on_air.title, privileged=True)
        try:
            await self._open_relay(presenter, on_air.relay, on_air, grid=True)
        except (LiveRefused, SourceError) as exc:
            logger.info("live: the grid's relay for %s: %s", on_air.show_id, exc)
            self._problem(on_air.title, f"relay of {on_air.relay}: {exc}")

    def _set_title(self, session: _Session, title: str) -> None:
        title = " ".join(title.split())[:_TITLE_MAX]
        if title == session.title:
            return
        session.title = title
        self._events(
            LiveTitle(frame=self._position(), presenter=session.presenter.name, title=title)
        )

    def _refused(self, who: str, refused: LiveRefused, peer: str) -> None:
        self.refusals += 1
        # the mount already logged it (one line per refusal); the programmers are told
        logger.debug("live: refused %s from %s: %s %s", who, peer, refused.status, refused.reason)
        if refused.status != 404:
            self._problem(who, f"connection refused ({refused.status}): {refused.reason}")

    def _problem(self, who: str, detail: str) -> None:
        self._events(LiveProblem(frame=self._position(), who=who[:100], detail=detail[:500]))

    def _position(self) -> int:
        return self._station_position() if self._station_position is not None else 0


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="seconds")


__all__ = ["DeskOptions", "LiveDesk", "MemberLookup", "SlotsNear"]

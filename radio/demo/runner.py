"""The demo station: the local Discord, the example station in it, a listener, a page.

:class:`Demo` starts, in one event loop: the emulator (REST, gateway, voice and a
listener that decodes what the bot sends), the station application
(:class:`~radio.app.StationApp`) pointed at it with a ``discord:`` configuration
for the emulator's guild, a task that prints the announcement room's messages
as they come, and the listening page. :meth:`Demo.stop` stops them in reverse
order and writes what the listener heard as a WAV file. :func:`run_demo` runs a
demo until a stop event (Ctrl-C in ``radio demo``) or for a number of seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from radio.app import AppOptions, StationApp
from radio.bot.client import RoomState
from radio.bot.programme import day_programme
from radio.clock import SystemClock
from radio.demo import media as media_library
from radio.demo.media import DemoFile
from radio.demo.members import MemberDesk, Outcome
from radio.demo.page import ListenerTap, ListeningPage
from radio.demo.room import RoomWatcher, line_for, transcript
from radio.demo.stage_talk import StageTalk
from radio.demo.world import demo_config
from radio.errors import ConfigError
from radio.events import Event
from radio.grid.loader import load_station
from radio.live.contracts import Credentials
from radio.sandbox import Emulator, ListenerRecord, point_discord_at
from radio.store.presenters import PresenterCredentials

logger = logging.getLogger(__name__)

ROOM_POLL_S = 0.25
PACKETS_PER_MINUTE = 50 * 60
DEMO_PASSWORD = "demo-live"  # the demo DJ's encoder password (the demo is local only)
# The local Discord's ids are stamped with this instant on every start, so that
# alice keeps her id across demo restarts as a Discord member does (requests kept
# in the data folder still name her).
WORLD_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class DemoOptions:
    """What to run: the station folder, the data folder, the page's port, and more.

    ``data_dir`` None: ``station_dir/data``. ``port`` 0: any free port.
    ``generate_media``: write the example library's missing files first.
    ``record_minutes``: how much of the listener's audio is kept (and written).
    """

    station_dir: Path = Path(".")
    data_dir: Path | None = None
    port: int = 8765
    stage: bool = False
    generate_media: bool = True
    record_minutes: float = 10.0
    live_port: int | None = 8005  # the presenters' mount (None: station.yaml's; 0: any)
    app: AppOptions = field(
        # discord.py waits 2 s for more guilds by default; the local Discord has one.
        default_factory=lambda: AppOptions(bot_options={"guild_ready_timeout": 0.05})
    )

    @property
    def data(self) -> Path:
        return self.data_dir if self.data_dir is not None else self.station_dir / "data"


@dataclass
class DemoResult:
    """What a finished demo leaves: the recording, and for tests what happened."""

    wav: Path | None
    page_url: str
    record: ListenerRecord
    room_id: int
    events: list[tuple[Event, datetime | None]]  # each event with its frame's instant
    lines: list[str]


def generate_media(media: Path, out: TextIO) -> int:
    """Write the example library's missing files under ``media``, saying so on ``out``
    (one line per file, in order, as each is written).

    Returns how many were written. Raises SourceError when FFmpeg fails.
    """

    def say(number: int, total: int, item: DemoFile) -> None:
        out.write(f"generating the demo's music ({number}/{total}): {item.path}\n")
        out.flush()

    return len(media_library.generate(media, progress=say))


class Demo:
    """One demo run (see the module docstring). Use :meth:`start`, then :meth:`stop`."""

    def __init__(self, options: DemoOptions, out: TextIO) -> None:
        self.options = options
        self.out = out
        self.clock = SystemClock()
        self.emulator = Emulator(
            clock=self.clock,
            monotonic=time.monotonic,
            record_limit=max(1, round(options.record_minutes * PACKETS_PER_MINUTE)),
            world_epoch=WORLD_EPOCH,
        )
        self.room_id = (
            self.emulator.world.stage_channel.id
            if options.stage
            else self.emulator.world.voice_channel.id
        )
        self.app: StationApp | None = None
        self.page = ListeningPage(
            ListenerTap(self.emulator.record, self.room_id), self.now, self.act, self.talk
        )
        self.members = MemberDesk(self.emulator.world, self._bot_ready)
        self.stage_talk = StageTalk(self.room_id, self._on_air)
        self.encoder: dict[str, str] | None = None  # the mount and a one-line encoder
        self.events: list[tuple[Event, datetime | None]] = []
        self.lines: list[str] = []
        self._events_lock = threading.Lock()
        self._stop_app = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.app_task: asyncio.Task[None] | None = None

    def say(self, line: str) -> None:
        """Write one line to the terminal (and keep it for the page)."""
        self.out.write(line + "\n")
        self.out.flush()

    async def start(self) -> None:
        """Generate media if asked, start the local Discord, the station and the page.

        Raises ConfigError (station folder), SourceError (FFmpeg) or OSError (a
        port); whatever was started is stopped again first.
        """
        options = self.options
        files = load_station(options.station_dir)
        if files.station is None:
            first = files.diagnostics[0] if files.diagnostics else "no station file"
            raise ConfigError(f"{options.station_dir}: not a station folder: {first}")
        if options.generate_media:
            media = files.folder("media")
            written = await asyncio.to_thread(generate_media, media, self.out)
            if written:
                self.say(f"generated {written} demo tracks under {media}")
        await self.emulator.start()
        self.members.control_url = self.emulator.addresses.control_url
        self.stage_talk.control_url = self.emulator.addresses.control_url
        try:
            self.app = StationApp(
                options.station_dir,
                options.data,
                demo_config(self.emulator.world, stage=options.stage),
                clock=self.clock,
                monotonic=time.monotonic,
                options=replace(options.app, live_port=options.live_port),
            )
            self.presenter = self._demo_presenter(self.app)
            self.app.events.subscribe(self._keep_event)
            addresses = self.emulator.addresses
            self.app_task = asyncio.create_task(
                self.app.run(
                    self.emulator.world.token,
                    self._stop_app,
                    before_start=lambda bot: point_discord_at(bot, addresses),
                ),
                name="station",
            )
            self._tasks.append(asyncio.create_task(self._print_room(), name="room"))
            try:
                url = await self.page.start(options.port)
            except OSError as exc:
                raise ConfigError(
                    f"cannot serve the listening page on 127.0.0.1:{options.port} ({exc.strerror});"
                    " choose another with --port (0: any free port)"
                ) from None
        except BaseException:
            await self._shutdown()
            await self.emulator.stop()
            raise
        self.say(f"{self.app.onair.name} is on the local Discord ({addresses.api_base})")
        self.say(f"listen, see what plays and act as a member: {url}")
        self.say(
            "or from a script: POST "
            f"{addresses.control_url}/messages"
            ' {"author": "alice", "content": "!request sunrise"}'
        )
        await self._say_live()
        self.say("Ctrl-C stops the demo and writes the listener's recording.")

    def _demo_presenter(self, app: StationApp) -> Credentials:
        """bob, the demo's DJ, may go live at any time: fixed credentials for the demo."""
        bob = self.emulator.world.people["bob"]
        return PresenterCredentials(app.db).set_password(bob.id, "bob", DEMO_PASSWORD)

    async def _say_live(self) -> None:
        """Print the mount and a one-line encoder to try it (once the mount listens)."""
        app = self.app
        assert app is not None
        async with asyncio.timeout(30):
            while app.ingest is not None and not app.ingest.listening:
                if self.app_task is not None and self.app_task.done():
                    return
                await asyncio.sleep(0.05)
        if app.ingest is None:
            self.say("live: the presenters' mount is not open (see the log); try --live-port 0")
            return
        user, password = self.presenter.user, self.presenter.password
        path = app.onair.live_settings.mount
        mount = f"icecast://{user}:{password}@127.0.0.1:{app.ingest.port}{path}"
        command = (
            "ffmpeg -re -f lavfi -i sine=frequency=660:duration=30 -c:a libmp3lame"
            f" -b:a 128k -content_type audio/mpeg -f mp3 {mount}"
        )
        self.encoder = {"mount": mount, "ffmpeg": command}
        self.say(f"go live from an encoder (BUTT, Mixxx, ffmpeg): {mount}")
        self.say(f"  e.g. {command}")

    def _keep_event(self, event: Event) -> None:
        app = self.app
        instant = app.stamps.instant_of(event.frame) if app is not None else None
        with self._events_lock:
            self.events.append((event, instant))

    async def wait_on_air(self, timeout: float = 30.0) -> None:
        """Wait until the bot is in its room (a guard for tests and the first line).

        Raises TimeoutError, or what the station failed with.
        """
        async with asyncio.timeout(timeout):
            while True:
                if self.app_task is not None and self.app_task.done():
                    self.app_task.result()
                    raise RuntimeError("the station stopped")
                app = self.app
                if app is not None and any(
                    room.state is RoomState.ON_AIR for room in app.bot.rooms.values()
                ):
                    return
                await asyncio.sleep(0.05)

    async def _on_air(self, timeout: float) -> bool:
        """True once the bot is in its room; False when not within ``timeout`` seconds."""
        try:
            await self.wait_on_air(timeout)
        except Exception:  # a failed station is reported by its own task
            return False
        return True

    async def _print_room(self) -> None:
        world = self.emulator.world
        channel = world.text_channel
        watcher = RoomWatcher(world, channel.id)
        names = {user.id: name for name, user in world.people.items()}
        names[world.bot.id] = world.bot.username
        while True:
            for message, edited in watcher.poll():
                line = line_for(
                    message,
                    edited,
                    channel.name,
                    lambda: datetime.now().strftime("%H:%M:%S"),
                    names,
                )
                self.lines.append(line)
                self.say(line)
            await asyncio.sleep(ROOM_POLL_S)

    def names(self) -> dict[int, str]:
        """Every member's and the bot's name by id (requests kept from an older world too)."""
        world = self.emulator.world
        names: dict[int, str] = {}
        app = self.app
        if app is not None:
            names |= {r.user_id: r.user_name for r in app.queue.pending() if r.user_name}
        names |= {user.id: name for name, user in world.people.items()}
        names[world.bot.id] = world.bot.username
        return names

    async def _bot_ready(self, timeout: float) -> bool:
        """True once the bot is connected and its slash commands are registered;
        False when that has not happened within ``timeout`` seconds or the station stopped."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    if self.app_task is not None and self.app_task.done():
                        return False
                    app = self.app
                    if app is not None and app.bot.is_ready() and self.emulator.world.commands:
                        return True
                    await asyncio.sleep(0.05)
        except TimeoutError:
            return False

    async def act(self, member: str, text: str) -> Outcome:
        """The page's member action (see :class:`~radio.demo.members.MemberDesk`)."""
        outcome = await self.members.act(member, text)
        if outcome.status == 200:
            logger.info("%s on the page: %s", member, text[:80])
        return outcome

    async def talk(self) -> Outcome:
        """The page's *Talk on the stage* (see :class:`~radio.demo.stage_talk.StageTalk`)."""
        return await self.stage_talk.talk()

    def now(self, member: str | None = None) -> dict[str, Any]:
        """The JSON of ``/now.json``: station, show, track, next up, queue, room, the
        day's schedule, live, the demo DJ's talk on the stage and who is on mic,
        the room's messages (as lines, and as ``member`` sees
        them in Discord: ``studio``)."""
        app = self.app
        world = self.emulator.world
        base: dict[str, Any] = {
            "station": "radio demo",
            "members": sorted(world.people),
            "track": None,
            "queue": [],
            "messages": [],
            "studio": [],
            "schedule": [],
            "live": None,
            "encoder": self.encoder,
            "stage": {
                "room": "stage" if self.options.stage else "voice room",
                "talking": self.stage_talk.talking,
                "on_mic": [],
            },
        }
        if app is None:
            return base
        names = self.names()
        announcer = app.announcer
        track = announcer.track
        show = announcer.show
        next_up = app.controls.next_up()
        rooms = list(app.bot.rooms.values())
        grid = app.onair.station.grid
        instant = self.clock.now()
        today = instant.astimezone(grid.tz).date()
        viewer = world.people[member].id if member in world.people else None
        status = app.desk.status()
        return base | {
            "station": app.onair.name,
            "show": show.title if show is not None else None,
            "track": None
            if track is None
            else {
                "title": track.title,
                "artist": track.artist,
                "album": track.album,
                "requested_by": track.tags.get("requested_by", ""),
            },
            "next_up": next_up.display if next_up is not None else None,
            "queue": [
                {
                    "id": r.id,
                    "title": r.track.display,
                    "requested_by": names.get(r.user_id) or r.user_name or "unknown member",
                }
                for r in app.queue.pending()
            ],
            "room": str(rooms[0].state) if rooms else None,
            "ready": app.bot.is_ready(),
            "on_air_seconds": round(app.onair.root.position / 50, 2),
            "heard_packets": len(self.emulator.record.packets),
            "messages": self.lines[-15:],
            "studio": transcript(world, world.text_channel.id, viewer, names, grid.tz),
            "timezone": grid.tz.key,
            "schedule": [
                {
                    "start": airing.start.strftime("%H:%M"),
                    "end": "24:00" if airing.end.date() > today else airing.end.strftime("%H:%M"),
                    "title": airing.title,
                    "now": airing.start <= instant < airing.end,
                }
                for airing in day_programme(grid, today)
            ],
            "stage": base["stage"] | {"on_mic": list(app.stage.names(app.stage.talkover.on_mic))},
            "live": None
            if status is None
            else {
                "presenter": status.presenter,
                "show": status.show,
                "via": status.via,
                "since": status.since,
                "title": status.title,
                "on_air": status.on_air,
            },
        }

    async def stop(self) -> DemoResult:
        """Stop the station, the page and the local Discord; write the recording.

        The WAV goes to the data folder (``listener-YYYYmmdd-HHMMSS.wav``); None
        when the listener heard nothing.
        """
        await self._shutdown()
        packets = self.emulator.record.audio_packets(channel_id=self.room_id)
        wav: Path | None = None
        if packets:
            self.options.data.mkdir(parents=True, exist_ok=True)
            name = datetime.now(UTC).strftime("listener-%Y%m%d-%H%M%S.wav")
            wav = self.emulator.record.to_wav(self.options.data / name, packets)
        await self.emulator.stop()
        with self._events_lock:
            events = list(self.events)
        return DemoResult(
            wav, self.page.url, self.emulator.record, self.room_id, events, self.lines
        )

    async def _shutdown(self) -> None:
        self._stop_app.set()
        if self.app_task is not None:
            with contextlib.suppress(Exception):
                await self.app_task
        elif self.app is not None:
            await self.app.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.page.stop()
        await self.members.close()
        await self.stage_talk.close()


async def run_demo(
    options: DemoOptions, out: TextIO, stop: asyncio.Event, seconds: float | None = None
) -> DemoResult:
    """Run a demo until ``stop`` is set (or ``seconds`` have passed, or the station
    fails); return what it left. Raises what :meth:`Demo.start` raises, and what
    the station failed with (after stopping everything)."""
    demo = Demo(options, out)
    await demo.start()
    loop = asyncio.get_running_loop()
    timer = loop.call_later(seconds, stop.set) if seconds is not None else None
    waiting = asyncio.create_task(stop.wait())
    assert demo.app_task is not None
    try:
        await asyncio.wait({waiting, demo.app_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()
        if timer is not None:
            timer.cancel()
    failed = demo.app_task.done() and not stop.is_set()
    result = await demo.stop()
    if failed:
        demo.app_task.result()
    return result

"""Loading a station directory: ``station.yaml``, ``schedules/*.yaml``, ``playlists/*.yaml``.

:func:`load_station` never raises for bad files: it returns what it could load and
every problem as a :class:`~radio.config.diagnostics.Diagnostic`. Media checks and
grid-wide checks (overlaps, gaps, DST) are in :mod:`radio.grid.check`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from radio.config.diagnostics import Diagnostic, Mark, file_mark
from radio.config.schema import M, validate
from radio.config.station import StationModel
from radio.config.yamlfile import YamlDoc, load
from radio.grid.grid import Grid
from radio.grid.model import ScheduleFile, ShowModel, check_id
from radio.playlists.model import PlaylistModel

logger = logging.getLogger(__name__)

STATION_FILE = "station.yaml"


@dataclass(frozen=True)
class Origin:
    """Where something was written: the document and the path inside it."""

    doc: YamlDoc
    loc: tuple[str | int, ...]

    def mark(self, *more: str | int, key: bool = False) -> Mark:
        """The position of ``loc + more`` in the document."""
        return self.doc.mark((*self.loc, *more), key=key)


@dataclass(frozen=True)
class LoadedPlaylist:
    """A valid playlist and where it was written."""

    id: str
    model: PlaylistModel
    origin: Origin


@dataclass
class StationFiles:
    """Everything loaded from a station directory (valid parts only) and the problems."""

    root: Path
    station: StationModel | None = None
    station_origin: Origin | None = None
    shows: list[tuple[ShowModel, Origin]] = field(default_factory=list)
    cancelled: dict[date, frozenset[str] | None] = field(default_factory=dict)
    cancel_origins: list[tuple[str, Origin]] = field(default_factory=list)
    one_off: set[int] = field(default_factory=set)
    playlists: dict[str, LoadedPlaylist] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    # every schedule file that parsed, valid or not: references are checked on
    # what was written, so a show broken elsewhere still has its playlists checked
    schedule_docs: list[YamlDoc] = field(default_factory=list)
    station_doc: YamlDoc | None = None

    @property
    def ok(self) -> bool:
        """True when no error (warnings allowed) has been found so far."""
        return not any(d.is_error for d in self.diagnostics)

    def folder(self, name: str) -> Path:
        """The station's folder ``name`` (schedules, playlists, media, data)."""
        default = {"schedules": "schedules", "playlists": "playlists", "media": "media"}
        relative = getattr(self.station, name) if self.station else default.get(name, name)
        return self.root / relative

    def media_roots(self) -> list[Path]:
        """The folders media may come from: ``media`` and station.yaml's ``media_roots``."""
        extra = self.station.media_roots if self.station is not None else []
        return [self.folder("media"), *(self.root / Path(r).expanduser() for r in extra)]

    def grid(self) -> Grid | None:
        """The runtime grid, or None when the station file itself is unusable."""
        if self.station is None:
            return None
        return Grid(
            tz=ZoneInfo(self.station.timezone),
            shows=tuple(show for show, _ in self.shows),
            fallback=self.station.fallback,
            station_id=self.station.station_id,
            fallback_title=self._playlist_title(self.station.fallback),
            cancelled=dict(self.cancelled),
            one_off=frozenset(self.one_off),
        )

    def _playlist_title(self, playlist_id: str) -> str:
        loaded = self.playlists.get(playlist_id)
        return (loaded.model.title or "") if loaded is not None else ""

    def show_origin(self, index: int) -> Origin:
        """Where show number ``index`` of the grid was written."""
        return self.shows[index][1]


def station_file(path: Path) -> Path:
    """``path`` itself when it is a file, else ``path/station.yaml``."""
    return path if path.is_file() else path / STATION_FILE


def load_station(path: Path) -> StationFiles:
    """Load the station at ``path`` (a directory or its ``station.yaml``).

    Reports syntax and schema errors, duplicate ids (E201), unknown playlists
    (E202), unknown shows in exceptions (E204) and an unknown fallback (E304).
    """
    main = station_file(path)
    files = StationFiles(root=main.parent)
    if not main.exists():
        files.diagnostics.append(
            file_mark(main).diagnostic("E002", "no station file: create station.yaml")
        )
        return files
    files.files.append(main)
    doc, problems = load(main)
    files.diagnostics += problems
    if doc is not None:
        files.station_doc = doc
        files.station, problems = validate(doc, StationModel)
        files.station_origin = Origin(doc, ())
        files.diagnostics += problems
    _load_playlists(files)
    _load_schedules(files)
    _check_references(files)
    files.diagnostics.sort()
    return files


def _yaml_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def _valid_files(
    files: StationFiles, folder: str, model: type[M], parsed: list[YamlDoc] | None = None
) -> Iterator[tuple[YamlDoc, M]]:
    """Each YAML file of ``folder`` that loads and validates as ``model``, in name order.

    Every file is recorded (for live reload) and every problem goes to the
    diagnostics; every document that parsed is added to ``parsed``.
    """
    for path in _yaml_files(files.folder(folder)):
        files.files.append(path)
        doc, problems = load(path)
        files.diagnostics += problems
        if doc is None:
            continue
        if parsed is not None:
            parsed.append(doc)
        valid, problems = validate(doc, model)
        files.diagnostics += problems
        if valid is not None:
            yield doc, valid


def _load_playlists(files: StationFiles) -> None:
    for doc, model in _valid_files(files, "playlists", PlaylistModel):
        path = doc.path
        origin = Origin(doc, ())
        playlist_id = model.id or path.stem
        if model.id is None:
            try:
                check_id(playlist_id)
            except ValueError:
                files.diagnostics.append(
                    file_mark(path).diagnostic(
                        "E110", f"bad playlist id {playlist_id!r} (from the file name): add 'id:'"
                    )
                )
                continue
        if playlist_id in files.playlists:
            other = files.playlists[playlist_id].origin.doc.path
            where = ["id"] if model.id else []
            files.diagnostics.append(
                doc.diagnostic(
                    where, "E201", f"duplicate playlist id '{playlist_id}' (also {other})"
                )
            )
            continue
        files.playlists[playlist_id] = LoadedPlaylist(playlist_id, model, origin)


def _load_schedules(files: StationFiles) -> None:
    seen: dict[str, Origin] = {}

    def add(show: ShowModel, origin: Origin) -> bool:
        if show.id in seen:
            first = seen[show.id].mark("id")
            files.diagnostics.append(
                origin.mark("id").diagnostic(
                    "E201", f"duplicate show id '{show.id}' (first at {first.path}:{first.line})"
                )
            )
            return False
        seen[show.id] = origin
        files.shows.append((show, origin))
        return True

    for doc, schedule in _valid_files(files, "schedules", ScheduleFile, files.schedule_docs):
        for i, show in enumerate(schedule.shows):
            add(show, Origin(doc, ("shows", i)))
        for i, exception in enumerate(schedule.exceptions):
            origin = Origin(doc, ("exceptions", i))
            for j, extra in enumerate(exception.add):
                if extra.dates is None:
                    files.diagnostics.append(
                        origin.mark("add", j).diagnostic(
                            "E107", f"show '{extra.id}' added by an exception takes start and end"
                        )
                    )
                    continue
                if add(extra, Origin(doc, ("exceptions", i, "add", j))):
                    files.one_off.add(len(files.shows) - 1)
            if exception.cancel == "all":
                files.cancelled[exception.date] = None
            elif exception.cancel:
                before = files.cancelled.get(exception.date, frozenset())
                if before is not None:
                    files.cancelled[exception.date] = before | frozenset(exception.cancel)
                for k, show_id in enumerate(exception.cancel):
                    files.cancel_origins.append(
                        (show_id, Origin(doc, ("exceptions", i, "cancel", k)))
                    )


def _check_references(files: StationFiles) -> None:
    known = files.playlists

    def ref(playlist: str, origin: Origin, *loc: str | int) -> None:
        if playlist not in known:
            files.diagnostics.append(
                origin.mark(*loc).diagnostic(
                    "E202", f"unknown playlist '{playlist}'" + _hint(files)
                )
            )

    for origin, raw in _written_shows(files):
        rotation = raw.get("rotation")
        for i, entry in enumerate(rotation if isinstance(rotation, list) else []):
            if isinstance(entry, dict) and isinstance(entry.get("playlist"), str):
                ref(entry["playlist"], origin, "rotation", i, "playlist")
        jingles = raw.get("jingles")
        if isinstance(jingles, dict) and isinstance(jingles.get("playlist"), str):
            ref(jingles["playlist"], origin, "jingles", "playlist")
        station_id = raw.get("station_id")
        if isinstance(station_id, str):
            ref(station_id, origin, "station_id")
    show_ids = {show.id for show, _ in files.shows}
    for show_id, origin in files.cancel_origins:
        if show_id not in show_ids:
            files.diagnostics.append(
                origin.mark().diagnostic("E204", f"cancels unknown show '{show_id}'")
            )
    if files.station_doc is not None and isinstance(files.station_doc.data, dict):
        origin = Origin(files.station_doc, ())
        raw = files.station_doc.data
        fallback = raw.get("fallback")
        if isinstance(fallback, str) and fallback not in known:
            files.diagnostics.append(
                origin.mark("fallback").diagnostic(
                    "E304", f"the fallback playlist '{fallback}' does not exist" + _hint(files)
                )
            )
        station_id = raw.get("station_id")
        if isinstance(station_id, str):
            ref(station_id, origin, "station_id")


def _written_shows(files: StationFiles) -> Iterator[tuple[Origin, dict[str, object]]]:
    """Every show as written (valid or not): ``shows[i]`` and ``exceptions[i].add[j]``."""
    for doc in files.schedule_docs:
        data = doc.data
        if not isinstance(data, dict):
            continue
        shows = data.get("shows")
        for i, show in enumerate(shows if isinstance(shows, list) else []):
            if isinstance(show, dict):
                yield Origin(doc, ("shows", i)), show
        exceptions = data.get("exceptions")
        for i, exception in enumerate(exceptions if isinstance(exceptions, list) else []):
            added = exception.get("add") if isinstance(exception, dict) else None
            for j, show in enumerate(added if isinstance(added, list) else []):
                if isinstance(show, dict):
                    yield Origin(doc, ("exceptions", i, "add", j)), show


def _hint(files: StationFiles) -> str:
    if not files.playlists:
        return f" (no playlists in {files.folder('playlists')})"
    return " (known: " + ", ".join(sorted(files.playlists)) + ")"


__all__ = ["LoadedPlaylist", "Origin", "StationFiles", "load_station", "station_file"]

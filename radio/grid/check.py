"""Checking a whole station before air: every problem, in one pass, with its position.

:func:`check_station` loads the files (:mod:`radio.grid.loader`), then looks at the
expanded grid over a horizon (a year by default): overlaps at equal priority
(E203), gaps where the fallback plays (W401), shows starting or ending in a DST gap
or fold (W402, W403); and at the media: sources that match nothing (E301),
unreadable files (E302), empty playlists (E303), a fallback that cannot play (E304),
separation rules the playlist's own tracks cannot keep (W406). Gaps inside the
station's ``fallback_hours`` are expected and not reported.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from radio.audio.track import Track
from radio.config.diagnostics import Diagnostic, Mark
from radio.errors import SourceError
from radio.grid import rrulespec
from radio.grid.cronspec import compile_cron, never_fires
from radio.grid.dst import WallIssue, describe, resolve
from radio.grid.expand import occurrences
from radio.grid.fallback_hours import Window, unexpected
from radio.grid.fallback_hours import describe as describe_hours
from radio.grid.grid import Grid, Occurrence
from radio.grid.loader import LoadedPlaylist, Origin, StationFiles, load_station
from radio.grid.timeline import overlaps, segments
from radio.playlists.library import MAX_FILES, Library, Resolution
from radio.playlists.separation import shortfalls

logger = logging.getLogger(__name__)

HORIZON = timedelta(days=366)
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass
class CheckResult:
    """The loaded station, its grid, the playable tracks of each playlist, and the problems."""

    files: StationFiles
    grid: Grid | None
    tracks: dict[str, list[Track]] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]

    @property
    def ok(self) -> bool:
        """True when the station may go on air with this configuration."""
        return self.grid is not None and not self.errors


def check_station(
    path: Path,
    now: datetime,
    *,
    horizon: timedelta = HORIZON,
    media: bool = True,
    library: Library | None = None,
) -> CheckResult:
    """Load and check the station at ``path`` over ``[now, now + horizon)``.

    With ``media=False`` files are not probed (the grid alone is checked). Never
    raises for bad configuration: everything is in ``diagnostics``, sorted.
    """
    files = load_station(path)
    result = CheckResult(files=files, grid=files.grid(), diagnostics=list(files.diagnostics))
    if result.grid is not None:
        result.diagnostics += check_grid(files, result.grid, now, now + horizon)
    if media:
        lib = library or Library(files.root)
        result.tracks, problems = check_media(files, lib)
        result.diagnostics += problems
    result.diagnostics.sort()
    return result


def check_grid(files: StationFiles, grid: Grid, start: datetime, end: datetime) -> list[Diagnostic]:
    """Overlaps (E203), gaps (W401), DST issues (W402/W403) over ``[start, end)``, and
    shows that never fire (W404)."""
    occs = occurrences(grid, start, end)
    found: list[Diagnostic] = _never(files)
    found += _overlaps(files, grid, occs, start, end)
    found += _gaps(files, grid, occs, start, end)
    found += _dst(files, grid, occs)
    return found


def _never(files: StationFiles) -> list[Diagnostic]:
    """W404 for each show whose recurrence can never fire, at the recurrence."""
    found: list[Diagnostic] = []
    for show, origin in files.shows:
        if show.rrule is not None and show.dtstart is not None:
            why = rrulespec.never_fires(show.rrule, show.dtstart)
            if why is not None:
                found.append(
                    origin.mark("rrule").diagnostic("W404", f"show '{show.id}' never fires: {why}")
                )
        elif show.cron is not None:
            spec = compile_cron(show.cron)
            if spec is not None and never_fires(spec):
                found.append(
                    origin.mark("cron").diagnostic(
                        "W404", f"show '{show.id}' never fires: no day matches '{show.cron}'"
                    )
                )
        elif show.days is not None and not show.days:
            found.append(
                origin.mark("days").diagnostic("W404", f"show '{show.id}' never fires: no days")
            )
        elif show.dates is not None and not show.dates:
            found.append(
                origin.mark("dates").diagnostic("W404", f"show '{show.id}' never fires: no dates")
            )
    return found


def _local(grid: Grid, instant: datetime) -> str:
    return instant.astimezone(grid.tz).strftime("%Y-%m-%d %H:%M")


def _overlaps(
    files: StationFiles, grid: Grid, occs: list[Occurrence], start: datetime, end: datetime
) -> list[Diagnostic]:
    reported: set[tuple[int, int]] = set()
    found: list[Diagnostic] = []
    for overlap in overlaps(occs, start, end):
        pair = (overlap.first.index, overlap.second.index)
        if pair in reported:
            continue
        reported.add(pair)
        a, b = overlap.first.show_id, overlap.second.show_id
        what = f"shows '{a}' and '{b}' overlap" if a != b else f"show '{a}' overlaps itself"
        found.append(
            files.show_origin(overlap.second.index)
            .mark("id")
            .diagnostic(
                "E203",
                f"{what} at equal priority {overlap.first.priority}, first on "
                f"{_local(grid, overlap.start)} {grid.tz.key}: give one a higher priority",
            )
        )
    return found


def _end_mark(origin: Origin, files: StationFiles, index: int) -> Mark:
    show = files.shows[index][0]
    for key in ("end", "duration"):
        if getattr(show, key) is not None:
            return origin.mark(key)
    return origin.mark("id")


def _gaps(
    files: StationFiles, grid: Grid, occs: list[Occurrence], start: datetime, end: datetime
) -> list[Diagnostic]:
    segs = segments(occs, start, end)
    hours: list[Window] = list(files.station.fallback_hours) if files.station else []
    # One warning per recurring gap: same wall times, listed with its weekdays. A gap
    # inside the fallback's own hours is the plan: only what lies outside is reported.
    groups: dict[tuple[str, str, int], list[tuple[int, datetime]]] = defaultdict(list)
    for i, seg in enumerate(segs):
        if seg.occurrence is not None or seg.start == start or seg.end == end:
            continue  # the window's own edges are not gaps in the grid
        for piece_start, piece_end in unexpected(seg.start, seg.end, hours, grid.tz):
            local_start, local_end = piece_start.astimezone(grid.tz), piece_end.astimezone(grid.tz)
            key = (
                local_start.strftime("%H:%M"),
                local_end.strftime("%H:%M"),
                (local_end.date() - local_start.date()).days,
            )
            groups[key].append((i, piece_start))
    found: list[Diagnostic] = []
    outside = f" outside the fallback's hours ({describe_hours(hours)})" if hours else ""
    for (hhmm_start, hhmm_end, span), pieces in groups.items():
        index, first = pieces[0]
        before = segs[index - 1].occurrence if index > 0 else None
        after = segs[index + 1].occurrence if index + 1 < len(segs) else None
        if before is not None:
            mark = _end_mark(files.show_origin(before.index), files, before.index)
        elif after is not None:
            mark = files.show_origin(after.index).mark("id")
        else:
            continue
        weekdays = sorted({at.astimezone(grid.tz).weekday() for _, at in pieces})
        days = ", ".join(WEEKDAY_NAMES[d] for d in weekdays)
        until = hhmm_end + ("" if span == 0 else " the next day" if span == 1 else f" +{span} days")
        times = "once" if len(pieces) == 1 else f"{len(pieces)} times in the window"
        found.append(
            mark.diagnostic(
                "W401",
                f"gap from {hhmm_start} to {until} on {days}{outside}, first on "
                f"{_local(grid, first)} ({times}): the fallback '{grid.fallback}' will play",
            )
        )
    if (
        not occs
        and files.ok
        and files.station_origin is not None
        and unexpected(start, end, hours, grid.tz)
    ):
        found.append(
            files.station_origin.mark("fallback").diagnostic(
                "W401", f"no show in the grid: the fallback '{grid.fallback}' plays all the time"
            )
        )
    return found


def _dst(files: StationFiles, grid: Grid, occs: list[Occurrence]) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for occ in occs:
        origin = files.show_origin(occ.index)
        show = files.shows[occ.index][0]
        for which, wall, issue in (
            ("start", occ.wall_start, occ.start_issue),
            ("end", occ.wall_end, occ.end_issue),
        ):
            if issue is WallIssue.NONE or wall is None:
                continue
            code = "W402" if issue is WallIssue.GAP else "W403"
            key = which
            if show.rrule is not None:
                key = "rrule"
            elif show.cron is not None:
                key = "cron"
            what = describe(wall, resolve(wall, grid.tz), grid.tz)
            found.append(origin.mark(key).diagnostic(code, f"show '{occ.show_id}' {which}: {what}"))
    return found


def check_media(
    files: StationFiles, library: Library
) -> tuple[dict[str, list[Track]], list[Diagnostic]]:
    """Resolve and probe every playlist; return the playable tracks and the problems.

    Sources are confined to the station's media roots (E305); special files are
    skipped unopened (W405); a source walking too many entries is E306.
    """
    found: list[Diagnostic] = []
    roots = files.media_roots()
    resolutions = {
        pid: [library.resolve(source, roots) for source in playlist.model.sources]
        for pid, playlist in files.playlists.items()
    }
    probed = library.tracks(path for rs in resolutions.values() for r in rs for path in r.files)
    tracks: dict[str, list[Track]] = {}
    for pid, playlist in files.playlists.items():
        tracks[pid] = _playlist_tracks(playlist, resolutions[pid], probed, found, files)
        found += check_separation(playlist, tracks[pid])
    fallback = files.station.fallback if files.station else None
    if fallback in files.playlists and not tracks.get(fallback or ""):
        assert files.station_origin is not None
        found.append(
            files.station_origin.mark("fallback").diagnostic(
                "E304",
                f"the fallback playlist '{fallback}' has no playable track: "
                "the station would go silent",
            )
        )
    return tracks, found


def check_separation(playlist: LoadedPlaylist, tracks: list[Track]) -> list[Diagnostic]:
    """W406 for each separation rule ``tracks`` cannot keep on their own, at the rule."""
    return [
        playlist.origin.mark("separation", shortfall.kind).diagnostic(
            "W406", f"playlist '{playlist.id}': {shortfall.describe()}"
        )
        for shortfall in shortfalls(playlist.model, tracks)
    ]


def _playlist_tracks(
    playlist: LoadedPlaylist,
    resolutions: list[Resolution],
    probed: Mapping[Path, Track | SourceError],
    found: list[Diagnostic],
    files: StationFiles,
) -> list[Track]:
    origin = playlist.origin
    result: list[Track] = []
    for i, resolution in enumerate(resolutions):
        where = origin.mark("sources", i)
        for refused in resolution.refused:
            if refused.outside:
                roots = ", ".join(str(r) for r in files.media_roots())
                found.append(
                    where.diagnostic("E305", f"{refused.path} {refused.reason} ({roots}): refused")
                )
            else:
                found.append(where.diagnostic("W405", f"skipped {refused.path}: {refused.reason}"))
        if resolution.truncated:
            found.append(
                where.diagnostic(
                    "E306",
                    f"'{resolution.source}' walks through more than {MAX_FILES} entries:"
                    " name a smaller folder",
                )
            )
        if not resolution.files and resolution.refused:
            continue
        if not resolution.files:
            found.append(
                origin.mark("sources", i).diagnostic(
                    "E301",
                    f"missing media: '{resolution.source}' matches no audio file under "
                    f"{files.root}",
                )
            )
            continue
        for path in resolution.files:
            item = probed[path]
            if isinstance(item, SourceError):
                found.append(
                    origin.mark("sources", i).diagnostic("E302", f"unreadable media: {item}")
                )
            else:
                result.append(item)
    if not result:
        found.append(
            origin.mark("sources", key=True).diagnostic(
                "E303", f"playlist '{playlist.id}' has no playable track"
            )
        )
    return result

"""``radio render``: write what a listener would hear to a WAV/FLAC/Ogg file."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from radio.audio.frames import frames_for
from radio.audio.loudness import DEFAULT_MAX_TRUE_PEAK_DBTP, DEFAULT_TARGET_LUFS, LoudnessLevels
from radio.audio.root import Infallible
from radio.audio.sequence import TrackSequence
from radio.audio.tracklist import TrackList, tracks_from_paths
from radio.commands.station_arg import add_station, station_dir
from radio.errors import ConfigError
from radio.render import render_source
from radio.store.db import Database
from radio.store.loudness import SQLiteLoudnessCache


def register(subparsers: Any) -> None:
    """Add the ``render`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "render",
        help="render a playlist to an audio file, faster than real time",
        description="Render what a listener would hear from a playlist (a folder or files).",
    )
    parser.add_argument("playlist", nargs="*", type=Path, help="audio files or folders")
    parser.add_argument(
        "-o", "--output", type=Path, required=True, help="out.wav, out.flac or out.ogg"
    )
    parser.add_argument("--duration", type=float, help="seconds to render")
    parser.add_argument(
        "--from", dest="window_from", metavar="TIME", help="render the programme grid from TIME"
    )
    parser.add_argument(
        "--to", dest="window_to", metavar="TIME", help="... until TIME (station time)"
    )
    add_station(parser)
    parser.add_argument(
        "--crossfade",
        type=float,
        default=0.0,
        help="seconds of crossfade between the files (--from/--to: the station's own settings)",
    )
    parser.add_argument("--loop", action="store_true", help="start the playlist over when it ends")
    parser.add_argument(
        "--target-lufs", type=float, default=DEFAULT_TARGET_LUFS, help="loudness target in LUFS"
    )
    parser.add_argument(
        "--max-true-peak",
        type=float,
        default=DEFAULT_MAX_TRUE_PEAK_DBTP,
        help="true-peak ceiling in dBTP",
    )
    parser.add_argument("--no-normalize", action="store_true", help="play files at their own level")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("RADIO_DATA_DIR", "data")),
        help="where the loudness cache lives (default $RADIO_DATA_DIR or ./data)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Render and print the output path."""
    if args.window_from is not None or args.window_to is not None:
        return _run_window(args)
    if not args.playlist or args.duration is None:
        raise ConfigError("give a playlist and --duration, or --from and --to")
    if args.duration <= 0:
        raise ConfigError("--duration must be positive")
    if args.crossfade < 0:
        raise ConfigError("--crossfade must not be negative")
    try:
        tracks = tracks_from_paths(args.playlist)
    except FileNotFoundError as exc:
        raise ConfigError(str(exc)) from None
    if not tracks:
        raise ConfigError("the playlist has no audio files")
    db: Database | None = None
    loudness = None
    if not args.no_normalize:
        db = Database(args.data_dir / "station.db")
        loudness = LoudnessLevels(
            target_lufs=args.target_lufs,
            max_true_peak_dbtp=args.max_true_peak,
            cache=SQLiteLoudnessCache(db),
        )
    root = Infallible(
        TrackSequence(
            TrackList(tracks, loop=args.loop),
            crossfade=args.crossfade,
            loudness=loudness,
            name="render",
        )
    )
    try:
        result = render_source(
            root, frames_for(args.duration), args.output, progress=not args.no_progress
        )
    finally:
        root.close()
        if db is not None:
            db.close()
    print(result.path)
    return 0


def _run_window(args: argparse.Namespace) -> int:
    """``--from``/``--to``: render that window of the station's programme (radio.grid)."""
    from radio.grid.render_window import parse_window, render_window

    if args.window_from is None or args.window_to is None:
        raise ConfigError("give both --from and --to")
    station = station_dir(args, "render")
    start, end = parse_window(station, args.window_from, args.window_to)
    db = None if args.no_normalize else Database(args.data_dir / "station.db")
    loudness = None
    if db is not None:
        loudness = LoudnessLevels(
            target_lufs=args.target_lufs,
            max_true_peak_dbtp=args.max_true_peak,
            cache=SQLiteLoudnessCache(db),
        )
    try:
        result = render_window(
            station, start, end, args.output, progress=not args.no_progress, loudness=loudness
        )
    finally:
        if db is not None:
            db.close()
    print(result.path)
    return 0

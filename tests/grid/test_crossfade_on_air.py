"""Crossfades on air: per station, show and playlist, and jingles that cut or fade.

The real station tree pulls frames faster than real time from FFmpeg-decoded
tones; every track change is checked to the sample: where the incoming track
starts (a fade of L samples starts it L samples before the outgoing one ends),
and that the L samples in between are the equal-power mix of the two.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import numpy as np

from radio.audio import curves
from radio.audio.frames import SAMPLES_PER_FRAME
from radio.audio.pcm import decode_file, to_int16
from radio.events import Event, TrackStarted

from .conftest import Station, pull, radio_station

START = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # Monday noon in Paris
WEEK = """\
shows:
  - id: allday
    days: [mon, tue, wed, thu, fri, sat, sun]
    start: "00:00"
    end: "24:00"
{crossfade}    rotation:
      - playlist: music
      - playlist: other
    jingles: {{playlist: jingles, every: 2}}
"""


def _station(station: Station, *, station_fade: str, show_fade: str, music_fade: str) -> None:
    station.write("station.yaml", f"timezone: Europe/Paris\nfallback: other\n{station_fade}")
    station.write("schedules/week.yaml", WEEK.format(crossfade=show_fade))
    station.write(
        "playlists/music.yaml", f"sources: [media/music]\norder: sequential\n{music_fade}"
    )
    station.write("playlists/other.yaml", "sources: [media/other]\norder: sequential\n")
    station.write("playlists/jingles.yaml", "sources: [media/jingles]\norder: sequential\n")
    # one second (50 frames) per song, half a second per jingle: every track starts
    # on a frame boundary, so a fade of L samples starts where L samples are left
    for i, hz in enumerate((500.0, 600.0, 700.0)):
        station.tone(f"media/music/m{i}.flac", hz, 1.0)
    for i, hz in enumerate((900.0, 1000.0)):
        station.tone(f"media/other/o{i}.flac", hz, 1.0)
    station.tone("media/jingles/j.flac", 1500.0, 0.5)


def _on_air(station: Station, frames: int) -> tuple[np.ndarray, list[TrackStarted]]:
    events: list[Event] = []
    radio = radio_station(station, START, events, seed=3)
    try:
        out = pull(radio, frames)
    finally:
        radio.close()
    starts = [e for e in events if isinstance(e, TrackStarted)]
    return to_int16(b"".join(out)).astype(np.float64), starts


def _changes(
    station: Station, out: np.ndarray, starts: list[TrackStarted]
) -> list[tuple[str, str, int, int]]:
    """Each track change heard, as (outgoing kind, incoming playlist, fade in samples,
    samples of the outgoing track heard alone), after checking it sample by sample
    against the two decoded files."""
    found = []
    fade_in = 0
    for before, after in itertools.pairwise(starts):
        outgoing = decode_file(before.track.location).astype(np.float64)
        incoming = decode_file(after.track.location).astype(np.float64)
        begin = before.frame * SAMPLES_PER_FRAME
        at = after.frame * SAMPLES_PER_FRAME
        length = begin + len(outgoing) - at  # how much of the outgoing track is left
        if at + len(incoming) > len(out):
            break
        g_out, g_in = curves.equal_power(0, length, length) if length else ((), ())
        mixed = outgoing[len(outgoing) - length :] * np.reshape(g_out, (-1, 1)) + incoming[
            :length
        ] * np.reshape(g_in, (-1, 1))
        assert np.abs(out[at : at + length] - np.rint(mixed)).max(initial=0) <= 1
        # the incoming track alone after the fade, up to where its own fade out may begin
        solo = out[at + length : at + len(incoming) // 2]
        assert np.array_equal(solo, incoming[length : len(incoming) // 2])
        found.append(
            (
                before.track.tags["kind"],
                after.track.tags["playlist"],
                length,
                len(outgoing) - fade_in,
            )
        )
        fade_in = length
    return found


def test_playlist_over_show_over_station_and_jingles_cut(station: Station) -> None:
    _station(
        station,
        station_fade="crossfade: {seconds: 0.4, jingles: cut}\n",
        show_fade="    crossfade: 0.3\n",
        music_fade="crossfade: {seconds: 0.2}\n",
    )
    out, starts = _on_air(station, 1200)  # 24 s
    changes = _changes(station, out, starts)
    assert len(changes) >= 15
    for outgoing, playlist, length, _ in changes:
        if outgoing == "jingle" or playlist == "jingles":
            assert length == 0  # the station says jingles cut: gapless
        elif playlist == "music":
            assert length == 9600  # the playlist's 0.2 s
        else:
            assert length == 14400  # "other" has none: the show's 0.3 s
    kinds = {(o == "jingle", p) for o, p, _, _ in changes}
    assert {(False, "music"), (False, "other"), (False, "jingles"), (True, "music")} <= kinds | {
        (True, "other")
    }


def test_jingles_fade_when_the_show_says_so(station: Station) -> None:
    _station(
        station,
        station_fade="crossfade: 0.4\n",
        show_fade="    crossfade: {jingles: fade}\n",
        music_fade="",
    )
    out, starts = _on_air(station, 1000)
    changes = _changes(station, out, starts)
    into_jingles = [length for _, playlist, length, _ in changes if playlist == "jingles"]
    out_of_jingles = [length for kind, _, length, _ in changes if kind == "jingle"]
    assert into_jingles and out_of_jingles
    # the station's 0.4 s everywhere, jingles included (the show only changed jingles);
    # a fade never outlasts what is left of the outgoing track: a half-second jingle
    # faded in over 0.4 s has 0.1 s of its own before it fades out
    for _, _, length, alone in changes:
        assert length == min(19200, alone)
    assert 4800 in {length for _, _, length, _ in changes}


def test_no_setting_is_gapless(station: Station) -> None:
    _station(station, station_fade="", show_fade="", music_fade="")
    out, starts = _on_air(station, 600)
    changes = _changes(station, out, starts)
    assert len(changes) >= 8
    assert {length for _, _, length, _ in changes} == {0}

"""The crossfade rule: each key from the incoming track's playlist, else the show, else
the station; jingles and IDs cut unless told to fade. Bad values are reported in place."""

from __future__ import annotations

from radio.audio.track import Track
from radio.grid.check import check_station
from radio.grid.crossfade import CrossfadeModel, Crossfades, transition_seconds

from .conftest import NOW, STATION, Station


def _track(kind: str, playlist: str) -> Track:
    return Track(f"/{playlist}.flac", playlist, tags={"kind": kind, "playlist": playlist})


SONG, OTHER, JINGLE, ID = (
    _track("music", "hits"),
    _track("music", "other"),
    _track("jingle", "jingles"),
    _track("id", "ids"),
)


def fade(**keys: object) -> CrossfadeModel:
    return CrossfadeModel.model_validate(keys)


def test_each_key_comes_from_the_most_specific_place() -> None:
    station, show = fade(seconds=4, jingles="fade"), fade(seconds=3)
    playlists = {"hits": fade(seconds=2), "other": None, "jingles": fade(seconds=1)}
    assert transition_seconds(OTHER, SONG, station, show, playlists) == 2  # playlist
    assert transition_seconds(SONG, OTHER, station, show, playlists) == 3  # show
    assert transition_seconds(SONG, OTHER, station, None, playlists) == 4  # station
    assert transition_seconds(SONG, OTHER, None, None, playlists) == 0  # default: gapless
    # jingles: the station's "fade" is inherited; the jingle playlist's own length
    assert transition_seconds(SONG, JINGLE, station, show, playlists) == 1
    assert transition_seconds(JINGLE, OTHER, station, show, playlists) == 3


def test_jingles_and_ids_cut_by_default_or_when_told() -> None:
    station = fade(seconds=4)
    for outgoing, incoming in ((SONG, JINGLE), (JINGLE, SONG), (SONG, ID), (ID, OTHER)):
        assert transition_seconds(outgoing, incoming, station, None, {}) == 0
        assert transition_seconds(outgoing, incoming, station, fade(jingles="fade"), {}) == 4
    # a playlist saying "fade" for its own tracks does not undo the show's "cut" for others
    assert transition_seconds(JINGLE, SONG, station, fade(jingles="cut"), {}) == 0
    assert transition_seconds(SONG, SONG, station, fade(jingles="cut"), {}) == 4


def test_a_number_is_seconds_and_longest_sizes_the_buffers() -> None:
    assert CrossfadeModel.model_validate(2.5) == fade(seconds=2.5)
    fades = Crossfades(fade(seconds=1), fade(jingles="fade"), {"a": fade(seconds=6), "b": None})
    assert fades.longest == 6
    assert fades.seconds(SONG, OTHER) == 1
    assert Crossfades().longest == 0


def test_bad_crossfades_are_reported_at_their_place(station: Station) -> None:
    station.tone("media/music/good.flac")
    station.write("station.yaml", STATION + "crossfade: {seconds: 25}\n")
    station.write("playlists/music.yaml", "sources: [media/music]\ncrossfade: {jingle: cut}\n")
    errors = check_station(station.root, NOW).errors
    root = station.root
    assert [str(d) for d in errors if d.code in ("E100", "E110")] == [
        f"{root / 'playlists/music.yaml'}:2:13 E100 unknown key 'jingle' (did you mean 'jingles'?)",
        f"{root / 'station.yaml'}:3:22 E110 bad value for crossfade.seconds: "
        "Input should be less than or equal to 20",
    ]

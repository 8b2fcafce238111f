"""Can a playlist keep its own separation rules with the tracks it has? (pure)

A rule "the same artist not within 20 minutes" needs enough different artists to
fill those 20 minutes. Played on its own, a playlist keeps an artist rule forever
exactly when one track of each artist, the longest of each, lasts at least the
rule: that round is the longest an artist can be kept away. (If every artist
must wait ``rule`` between starts, over a long time T each artist fills at most
T/rule of its longest tracks, so T <= T * round / rule, which needs round >= rule.)
The same holds for titles. A track without an artist is free of the artist rule,
and a track of unknown length (a stream) cannot be judged: either makes the
rule count as kept.

:func:`shortfalls` returns the rules that cannot hold, with the numbers, for
``radio check`` (W406). Other playlists of a show and jingles fill the time too,
so in a mixed show the rotation bends the weights rather than the rule; played
alone (the fallback, a show of one playlist) the rule is broken on air.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from radio.audio.track import Track
from radio.playlists.model import PlaylistModel
from radio.store.history import key

Kind = Literal["artist", "title"]


@dataclass(frozen=True, slots=True)
class Shortfall:
    """A separation rule a playlist cannot keep on its own.

    ``tracks`` the playlist's tracks, ``distinct`` how many different artists (or
    titles), ``round`` the longest a round of one track per artist (or title) lasts.
    """

    kind: Kind
    rule: timedelta
    tracks: int
    distinct: int
    round: timedelta

    def describe(self) -> str:
        """One sentence with the numbers, for a W406 diagnostic."""
        plural = "artists" if self.kind == "artist" else "titles"
        return (
            f"separation {self.kind} {_span(self.rule)} cannot hold: {self.tracks} track(s) "
            f"with {self.distinct} {plural}, and one track per {self.kind} lasts at most "
            f"{_span(self.round)} in all, less than {_span(self.rule)} "
            f"(add {plural} or shorten the rule)"
        )


def shortfalls(model: PlaylistModel, tracks: Sequence[Track]) -> list[Shortfall]:
    """The separation rules of ``model`` that ``tracks`` cannot keep (artist first)."""
    found: list[Shortfall] = []
    kinds: tuple[Kind, ...] = ("artist", "title")
    for kind in kinds:
        rule = model.separation_for(kind)
        if rule is None or not tracks:
            continue
        longest: dict[str, float] = {}
        free = False
        for track in tracks:
            name = track.artist if kind == "artist" else track.title
            if not name.strip() or track.duration is None:
                free = True  # free of this rule, or of unknown length: it can fill any time
                break
            k = key(name)
            longest[k] = max(longest.get(k, 0.0), track.duration)
        if free:
            continue
        round_ = timedelta(seconds=sum(longest.values()))
        if round_ < rule:
            found.append(Shortfall(kind, rule, len(tracks), len(longest), round_))
    return found


def _span(value: timedelta) -> str:
    """``20m``, ``2m40s``, ``1h``: as the files write durations."""
    seconds = round(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "".join(
        f"{amount}{unit}" for amount, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if amount
    )
    return text or "0s"

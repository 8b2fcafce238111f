"""Crossfades: how one track gives way to the next, set per station, show and playlist.

``crossfade:`` in station.yaml, in a show, or in a playlist: ``seconds`` of
equal-power crossfade at each track change (0: gapless), and ``jingles``:
whether a change into or out of a jingle or station ID ``cut`` s (gapless, the
usual way for short branded items) or ``fade`` s like music. A bare number is
``seconds``. Each key is taken from the most specific place that sets it:
the playlist of the incoming track, else the show, else the station, else the
defaults (0 s, jingles cut). :func:`transition_seconds` is that rule, pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from radio.audio.track import Track

#: The longest crossfade the files may ask for, in seconds.
MAX_CROSSFADE: Final = 20.0
DEFAULT_SECONDS: Final = 0.0
DEFAULT_JINGLES: Final = "cut"
#: The ``kind`` tags (radio.playlists.rotation) that ``jingles`` applies to.
JINGLE_KINDS: Final = frozenset({"jingle", "id"})


class CrossfadeModel(BaseModel):
    """``crossfade:`` in station.yaml, a show or a playlist; unset keys are inherited."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    seconds: float | None = Field(default=None, ge=0, le=MAX_CROSSFADE)
    jingles: Literal["cut", "fade"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _number_is_seconds(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"seconds": value}
        return value


@dataclass(frozen=True, slots=True)
class Crossfades:
    """The crossfade settings of one show's sequence: its station's, its show's, and
    every playlist's (by id). :meth:`seconds` is the ``transition`` of a TrackSequence."""

    station: CrossfadeModel | None = None
    show: CrossfadeModel | None = None
    playlists: Mapping[str, CrossfadeModel | None] | None = None

    @property
    def longest(self) -> float:
        """The longest crossfade any change may take (sizes the sequence's buffers)."""
        found = [DEFAULT_SECONDS]
        for model in (self.station, self.show, *(self.playlists or {}).values()):
            if model is not None and model.seconds is not None:
                found.append(model.seconds)
        return max(found)

    def seconds(self, outgoing: Track, incoming: Track) -> float:
        """The crossfade for the change from ``outgoing`` to ``incoming``, in seconds."""
        return transition_seconds(
            outgoing, incoming, self.station, self.show, (self.playlists or {})
        )


def transition_seconds(
    outgoing: Track,
    incoming: Track,
    station: CrossfadeModel | None,
    show: CrossfadeModel | None,
    playlists: Mapping[str, CrossfadeModel | None],
) -> float:
    """Seconds of crossfade from ``outgoing`` to ``incoming`` (see the module docstring).

    The settings are those of the incoming track's playlist (its ``playlist``
    tag), then ``show``, then ``station``; 0 when ``jingles`` is ``cut`` and either
    track is a jingle or a station ID (its ``kind`` tag).
    """
    chain = (playlists.get(incoming.tags.get("playlist", "")), show, station)
    seconds = next(
        (m.seconds for m in chain if m is not None and m.seconds is not None), DEFAULT_SECONDS
    )
    jingles = next(
        (m.jingles for m in chain if m is not None and m.jingles is not None), DEFAULT_JINGLES
    )
    if jingles == "cut" and (
        outgoing.tags.get("kind") in JINGLE_KINDS or incoming.tags.get("kind") in JINGLE_KINDS
    ):
        return 0.0
    return seconds

"""The demo's music: short songs with a melody, chords, a bass line and drums, in numpy.

A :class:`Style` is a playlist's sound (tempo, scale, chord progressions, the
instruments, the drum pattern); :func:`compose` writes one song of a style as
48 kHz stereo float samples, the same song for the same seed. A song is built
bar by bar in sections (intro, verse, verse again with a varied melody, a
bridge on other chords, the verse, an outro) so that it sounds like a song and
not a loop, fades in and out, and peaks at :data:`PEAK`.

Instruments are wavetables (one period of a sum of harmonics) read at the
note's pitch under an envelope; drums are a pitched sine sweep (kick), a
noise burst (snare) and differentiated noise (hats). Notes are cached by
instrument, pitch and length: a song repeats its notes, and the cache keeps
generating the whole demo library within a few seconds on two cores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from radio.audio.frames import SAMPLE_RATE

Samples = npt.NDArray[np.float32]

PEAK: Final = 0.5  # -6 dBFS: the station levels every file by its loudness anyway
_TABLE: Final = 2048

MAJOR: Final = (0, 2, 4, 5, 7, 9, 11)
MINOR: Final = (0, 2, 3, 5, 7, 8, 10)
DORIAN: Final = (0, 2, 3, 5, 7, 9, 10)
MIXOLYDIAN: Final = (0, 2, 4, 5, 7, 9, 10)


@dataclass(frozen=True, slots=True)
class Instrument:
    """A timbre: harmonic amplitudes, attack and decay (seconds), sustain level (0-1)."""

    harmonics: tuple[float, ...]
    attack: float
    decay: float
    sustain: float


PLUCK: Final = Instrument((1.0, 0.5, 0.33, 0.25, 0.2, 0.12), 0.004, 0.22, 0.0)
EPIANO: Final = Instrument((1.0, 0.35, 0.08, 0.12), 0.006, 0.5, 0.25)
ORGAN: Final = Instrument((1.0, 0.6, 0.3, 0.15, 0.08), 0.08, 0.4, 0.75)
PAD: Final = Instrument((1.0, 0.45, 0.2, 0.1), 0.35, 1.2, 0.7)
SQUARE: Final = Instrument((1.0, 0.0, 0.33, 0.0, 0.2, 0.0, 0.14), 0.01, 0.18, 0.35)
MARIMBA: Final = Instrument((1.0, 0.0, 0.0, 0.35, 0.0, 0.0, 0.0, 0.0, 0.0, 0.12), 0.002, 0.16, 0.0)
BELL: Final = Instrument((1.0, 0.0, 0.5, 0.0, 0.0, 0.25, 0.0, 0.0, 0.0, 0.0, 0.15), 0.002, 0.7, 0.0)
BASS: Final = Instrument((1.0, 0.5, 0.2, 0.08), 0.005, 0.35, 0.45)


@dataclass(frozen=True, slots=True)
class Style:
    """A playlist's sound. ``root`` is the tonic as a MIDI note; ``progressions`` are
    scale degrees (0-based), one chord a bar; ``drums`` is ``four`` (kick every
    beat), ``backbeat``, ``half`` (half time) or ``brushes`` (hats only, soft);
    ``steps`` is the melody's grid per beat (2: eighths, 4: sixteenths); ``swing``
    delays every second step by that fraction of a step."""

    name: str
    bpm: float
    root: int
    scale: tuple[int, ...]
    progressions: tuple[tuple[int, ...], ...]
    lead: Instrument
    chords: Instrument
    drums: str
    steps: int = 2
    swing: float = 0.0
    density: float = 0.6  # how many of the melody's steps start a note


STYLES: Final[dict[str, Style]] = {
    "morning": Style(
        "morning", 112, 60, MAJOR, ((0, 4, 5, 3), (0, 3, 4, 4), (5, 3, 0, 4)), PLUCK, EPIANO,
        "backbeat",
    ),
    "indie": Style(
        "indie", 128, 57, MIXOLYDIAN, ((0, 3, 5, 4), (0, 6, 3, 0), (3, 0, 4, 4)), SQUARE, ORGAN,
        "backbeat", density=0.7,
    ),
    "evening": Style(
        "evening", 88, 62, DORIAN, ((1, 4, 0, 0), (0, 3, 1, 4), (5, 1, 4, 0)), EPIANO, PAD,
        "half", swing=0.3, density=0.5,
    ),
    "weekend": Style(
        "weekend", 120, 65, MAJOR, ((0, 3, 4, 3), (0, 5, 3, 4), (3, 4, 0, 0)), MARIMBA, ORGAN,
        "four", steps=4, density=0.45,
    ),
    "night": Style(
        "night", 70, 55, MINOR, ((0, 5, 2, 6), (0, 3, 5, 4), (5, 6, 0, 0)), BELL, PAD,
        "brushes", density=0.35,
    ),
}  # fmt: skip


def midi_hz(note: float) -> float:
    """The frequency of MIDI note ``note`` (69 is A4, 440 Hz)."""
    return float(440.0 * 2.0 ** ((note - 69.0) / 12.0))


class _Notes:
    """Rendered notes, cached by instrument, pitch and length (see the module docstring)."""

    def __init__(self) -> None:
        self._tables: dict[Instrument, Samples] = {}
        self._notes: dict[tuple[Instrument, int, int], Samples] = {}

    def table(self, instrument: Instrument) -> Samples:
        if instrument not in self._tables:
            phase = np.arange(_TABLE, dtype=np.float64) * (2.0 * math.pi / _TABLE)
            wave = sum(
                (a * np.sin(phase * (k + 1)) for k, a in enumerate(instrument.harmonics) if a),
                start=np.zeros(_TABLE),
            )
            self._tables[instrument] = (wave / np.max(np.abs(wave))).astype(np.float32)
        return self._tables[instrument]

    def note(self, instrument: Instrument, midi: int, length: int) -> Samples:
        key = (instrument, midi, length)
        cached = self._notes.get(key)
        if cached is not None:
            return cached
        table = self.table(instrument)
        step = midi_hz(midi) * _TABLE / SAMPLE_RATE
        index = (np.arange(length, dtype=np.float64) * step).astype(np.int64) & (_TABLE - 1)
        rendered: Samples = (table[index] * _envelope(instrument, length)).astype(np.float32)
        self._notes[key] = rendered
        return rendered


def _envelope(instrument: Instrument, length: int) -> Samples:
    t = np.arange(length, dtype=np.float32) / SAMPLE_RATE
    attack = max(instrument.attack, 1e-3)
    env = np.minimum(t / attack, 1.0)
    decay = instrument.sustain + (1.0 - instrument.sustain) * np.exp(
        -np.maximum(t - attack, 0.0) / instrument.decay
    )
    env = env * decay
    release = min(length, int(0.012 * SAMPLE_RATE))  # no click at the note's end
    if release:
        env[-release:] *= np.linspace(1.0, 0.0, release, dtype=np.float32)
    return env.astype(np.float32)


def _drum_kit(seed: int) -> dict[str, Samples]:
    rng = np.random.default_rng(seed)
    n = int(0.3 * SAMPLE_RATE)
    t = np.arange(n, dtype=np.float32) / SAMPLE_RATE
    sweep = 45.0 + 85.0 * np.exp(-t / 0.03)
    kick = np.sin(2 * math.pi * np.cumsum(sweep) / SAMPLE_RATE) * np.exp(-t / 0.12)
    noise = rng.uniform(-1.0, 1.0, n).astype(np.float32)
    snare = (0.7 * noise + 0.5 * np.sin(2 * math.pi * 185.0 * t)) * np.exp(-t / 0.07)
    hiss = np.diff(noise, prepend=0.0) * 0.5
    hat = hiss * np.exp(-t / 0.02)
    brush = hiss * np.exp(-t / 0.06) * 0.5
    return {
        "kick": kick.astype(np.float32),
        "snare": snare.astype(np.float32),
        "hat": hat.astype(np.float32),
        "brush": brush.astype(np.float32),
    }


_PATTERNS: Final[dict[str, dict[str, tuple[float, ...]]]] = {
    # instrument -> onsets in beats within one 4-beat bar
    "four": {"kick": (0, 1, 2, 3), "snare": (1, 3), "hat": (0.5, 1.5, 2.5, 3.5)},
    "backbeat": {"kick": (0, 1.5, 2), "snare": (1, 3), "hat": tuple(i / 2 for i in range(8))},
    "half": {"kick": (0, 2.5), "snare": (2,), "hat": (0, 1, 2, 3)},
    "brushes": {"brush": (0, 1, 2, 3)},
}
_DRUM_GAIN: Final = {"kick": 0.9, "snare": 0.45, "hat": 0.18, "brush": 0.22}
_DRUM_PAN: Final = {"kick": 0.0, "snare": 0.05, "hat": 0.35, "brush": -0.3}


class _Mix:
    """A stereo float buffer that notes are added into, with a pan per note."""

    def __init__(self, length: int) -> None:
        self.length = length
        self.left = np.zeros(length, dtype=np.float32)
        self.right = np.zeros(length, dtype=np.float32)

    def add(self, start: int, sound: Samples, gain: float, pan: float = 0.0) -> None:
        if start >= self.length or start < 0:
            return
        piece = sound[: self.length - start]
        end = start + piece.shape[0]
        self.left[start:end] += piece * (gain * (1.0 - pan) / 2.0)
        self.right[start:end] += piece * (gain * (1.0 + pan) / 2.0)

    def stereo(self) -> Samples:
        return np.stack([self.left, self.right], axis=1)


def _chord(style: Style, degree: int, transpose: int) -> list[int]:
    """The triad (with its seventh in jazzier styles) on ``degree`` of the scale, as MIDI."""
    scale = style.scale
    size = 4 if style.name in ("evening", "night") else 3
    out = []
    for k in range(size):
        step = degree + 2 * k
        out.append(style.root + transpose + scale[step % 7] + 12 * (step // 7))
    return out


def _melody(
    style: Style, chords: list[list[int]], rng: np.random.Generator, transpose: int
) -> list[tuple[float, float, int]]:
    """A two-bar motif over ``chords`` (one a bar): (onset in beats, length in beats, MIDI)."""
    steps = style.steps * 4
    scale = [style.root + transpose + 12 + s for s in style.scale]
    scale += [n + 12 for n in scale]
    notes: list[tuple[float, float, int]] = []
    position = int(rng.integers(2, 6))
    for bar, chord in enumerate(chords):
        onsets = [s for s in range(steps) if s == 0 or rng.random() < style.density]
        for i, step in enumerate(onsets):
            nxt = onsets[i + 1] if i + 1 < len(onsets) else steps
            if step % style.steps == 0:
                # strong steps land on a tone of the chord, near where the line is
                target = min(
                    (
                        n
                        for n in scale
                        if (n - chord[0]) % 12 in {(c - chord[0]) % 12 for c in chord}
                    ),
                    key=lambda n: abs(n - scale[position]),
                )
                position = scale.index(target)
            else:
                position = int(np.clip(position + rng.choice([-2, -1, 1, 2]), 0, len(scale) - 1))
            onset = bar * 4 + step / style.steps
            if step % 2 == 1:
                onset += style.swing / style.steps
            length = (nxt - step) / style.steps
            notes.append((onset, length, scale[position]))
    return notes


def compose(style: Style, seconds: float, seed: int) -> Samples:
    """One song of ``style``, ``round(seconds * 48000)`` stereo samples, peaking at PEAK.

    The same ``style``, ``seconds`` and ``seed`` give the same samples. Raises
    ValueError for a non-positive duration.
    """
    length = round(seconds * SAMPLE_RATE)
    if length <= 0:
        raise ValueError(f"duration must be positive, got {seconds}")
    rng = np.random.default_rng(seed)
    transpose = int(rng.choice([-3, -2, 0, 0, 2, 3]))
    beat = 60.0 / style.bpm * SAMPLE_RATE  # samples
    bar = 4 * beat
    bars = max(1, math.ceil(length / bar))
    verse = list(style.progressions[int(rng.integers(len(style.progressions)))])
    bridge = list(style.progressions[int(rng.integers(len(style.progressions)))])
    if bridge == verse:
        bridge = verse[2:] + verse[:2]
    motif_a = _melody(style, [_chord(style, d, transpose) for d in verse[:2]], rng, transpose)
    motif_b = _melody(style, [_chord(style, d, transpose) for d in verse[2:]], rng, transpose)
    motif_c = _melody(style, [_chord(style, d, transpose) for d in bridge[:2]], rng, transpose)
    motif_d = _melody(style, [_chord(style, d, transpose) for d in bridge[2:]], rng, transpose)

    notes = _Notes()
    mix = _Mix(length)
    kit = _drum_kit(seed)
    pattern = _PATTERNS[style.drums]
    intro = 2 if bars > 8 else 0
    lead_pan = float(rng.uniform(-0.3, 0.3))
    for index in range(bars):
        start = index * bar
        section = index - intro
        in_bridge = section >= 0 and (section // 4) % 3 == 2
        progression = bridge if in_bridge else verse
        degree = progression[index % 4]
        chord = _chord(style, degree, transpose)
        # chords: held for the bar (pads, organ) or struck twice (piano)
        strikes = 1 if style.chords.sustain >= 0.6 else 2
        held = int(bar / strikes)
        for s in range(strikes):
            for note in chord:
                mix.add(int(start + s * held), notes.note(style.chords, note, held), 0.16, -0.2)
        # bass: the chord's root, on the beats that carry the rhythm
        for b in (0, 2) if style.drums in ("half", "brushes") else (0, 1.5, 2, 3):
            mix.add(int(start + b * beat), notes.note(BASS, chord[0] - 24, int(beat)), 0.5)
        # drums: none in the first intro bar, all of them after
        if index > 0 or intro == 0:
            for drum, onsets in pattern.items():
                for at in onsets:
                    mix.add(int(start + at * beat), kit[drum], _DRUM_GAIN[drum], _DRUM_PAN[drum])
        # melody: from the end of the intro to the last bar, motif pairs in turn
        if section >= 0 and index < bars - 1:
            motifs = (motif_c, motif_d) if in_bridge else (motif_a, motif_b)
            motif = motifs[(index - intro) % 2]
            half = (section // 2) % 2  # the repeat of a phrase moves up an octave now and then
            shift = 12 if (half and section % 8 >= 4 and style.name != "night") else 0
            for onset, beats, midi in motif:
                bar_of = int(onset // 4)
                if bar_of != (index - intro) % 2:
                    continue
                at = start + (onset - 4 * bar_of) * beat
                mix.add(
                    int(at), notes.note(style.lead, midi + shift, int(beats * beat)), 0.3, lead_pan
                )
    audio = mix.stereo()
    _fade(audio, fade_in=min(0.3, seconds / 4), fade_out=min(2.5, seconds / 4))
    peak = float(np.max(np.abs(audio)))
    if peak > 0:
        audio *= PEAK / peak
    return audio


def _fade(audio: Samples, *, fade_in: float, fade_out: float) -> None:
    n_in = int(fade_in * SAMPLE_RATE)
    n_out = int(fade_out * SAMPLE_RATE)
    if n_in:
        audio[:n_in] *= np.linspace(0.0, 1.0, n_in, dtype=np.float32)[:, None]
    if n_out:
        audio[-n_out:] *= np.linspace(1.0, 0.0, n_out, dtype=np.float32)[:, None]


def sonic_logo(seconds: float, seed: int = 0) -> Samples:
    """The station's chime: a rising bell arpeggio over a held chord, ``seconds`` long."""
    length = round(seconds * SAMPLE_RATE)
    if length <= 0:
        raise ValueError(f"duration must be positive, got {seconds}")
    notes = _Notes()
    mix = _Mix(length)
    root = 72 + (seed % 3) * 2
    step = int(0.16 * SAMPLE_RATE)
    for i, interval in enumerate((0, 4, 7, 12)):
        mix.add(
            i * step,
            notes.note(BELL, root + interval, int(1.2 * SAMPLE_RATE)),
            0.5,
            -0.4 + 0.25 * i,
        )
    for interval in (0, 4, 7):
        mix.add(0, notes.note(PAD, root - 12 + interval, length), 0.15)
    audio = mix.stereo()
    _fade(audio, fade_in=0.0, fade_out=min(0.5, seconds / 3))
    peak = float(np.max(np.abs(audio)))
    if peak > 0:
        audio *= PEAK / peak
    return audio

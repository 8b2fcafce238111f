"""The demo's generated music: songs with a melody over chords and a beat, distinct per
playlist, the same for the same seed; idents with spoken words (espeak-ng) or the chime."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from radio.demo.media import DEMO_LIBRARY, IDENT, render, write
from radio.demo.music import PEAK, STYLES, compose
from radio.demo.speech import espeak_binary

RATE = 48_000
ESPEAK = espeak_binary()


def bar_seconds(audio: np.ndarray, expected: float) -> float:
    """The period of the rhythm near ``expected`` seconds: the autocorrelation peak of
    the onset envelope (10 ms hops) between 0.75 and 1.25 times ``expected``."""
    mono = audio.mean(axis=1)
    hop = RATE // 100
    energy = np.sqrt(np.mean(mono[: len(mono) // hop * hop].reshape(-1, hop) ** 2, axis=1))
    onsets = np.maximum(np.diff(energy), 0.0)
    onsets -= onsets.mean()
    corr = np.correlate(onsets, onsets, mode="full")[len(onsets) - 1 :]
    lags = np.arange(len(corr))
    window = (lags >= 75 * expected) & (lags <= 125 * expected)
    return float(lags[window][np.argmax(corr[window])] / 100.0)


def pitches(audio: np.ndarray, start: float, seconds: float) -> set[int]:
    """The MIDI notes of the strongest spectral peaks (above 150 Hz) in a window."""
    part = audio[int(start * RATE) : int((start + seconds) * RATE)].mean(axis=1)
    spectrum = np.abs(np.fft.rfft(part * np.hanning(len(part))))
    freqs = np.fft.rfftfreq(len(part), 1 / RATE)
    keep = freqs > 150
    spectrum, freqs = spectrum[keep], freqs[keep]
    top = freqs[np.argsort(spectrum)[-12:]]
    return {round(69 + 12 * np.log2(f / 440.0)) for f in top}


def test_a_song_has_its_styles_beat_harmony_and_a_moving_melody() -> None:
    for name in ("morning", "indie", "weekend"):
        style = STYLES[name]
        audio = compose(style, 20.0, seed=7)
        assert audio.shape == (20 * RATE, 2)
        assert abs(float(np.max(np.abs(audio))) - PEAK) < 1e-3
        beat = 60 / style.bpm
        # the rhythm repeats on the style's beat grid: a whole number of its beats
        beats = bar_seconds(audio, 4 * beat) / beat
        assert abs(beats - round(beats)) < 0.05, (name, beats)
    audio = compose(STYLES["morning"], 20.0, seed=7)
    windows = [pitches(audio, 4.0 + i * 1.0, 1.0) for i in range(8)]
    assert all(len(w) >= 3 for w in windows)  # chords: several notes at once
    assert len({frozenset(w) for w in windows}) >= 4  # and they move


def test_same_seed_same_song_other_seed_or_style_another() -> None:
    a = compose(STYLES["indie"], 6.0, seed=1)
    assert np.array_equal(a, compose(STYLES["indie"], 6.0, seed=1))
    assert not np.allclose(a, compose(STYLES["indie"], 6.0, seed=2), atol=0.05)
    night = compose(STYLES["night"], 6.0, seed=1)
    assert not np.allclose(a, night, atol=0.05)


def test_every_playlist_folder_has_its_own_style() -> None:
    songs = [item for item in DEMO_LIBRARY if item.style != IDENT]
    assert {item.style for item in songs} == set(STYLES)
    assert {item.path.split("/")[0] for item in songs} == set(STYLES)
    assert len({(s.bpm, s.scale, s.drums) for s in STYLES.values()}) == len(STYLES)


def ident() -> object:
    return next(
        item for item in DEMO_LIBRARY if item.style == IDENT and item.path.startswith("ids")
    )


@pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed (scripts/test does)")
def test_an_ident_speaks_over_the_chime_where_espeak_ng_is_installed() -> None:
    item = ident()
    chime = render(item, espeak=None)  # type: ignore[arg-type]
    spoken = render(item, espeak=ESPEAK)  # type: ignore[arg-type]
    assert chime.shape[0] == round(item.seconds * RATE)  # type: ignore[attr-defined]
    assert spoken.shape[0] >= chime.shape[0]  # grown to fit the words

    # The words: broadband energy (300 Hz-3 kHz) where the chime alone has little.
    def voice_band(audio: np.ndarray) -> float:
        part = audio[int(0.6 * RATE) : int(1.6 * RATE)].mean(axis=1)
        spectrum = np.abs(np.fft.rfft(part))
        freqs = np.fft.rfftfreq(len(part), 1 / RATE)
        band = (freqs > 300) & (freqs < 3000)
        return float(np.count_nonzero(spectrum[band] > spectrum[band].max() * 0.05))

    assert voice_band(spoken) > 5 * voice_band(chime)


def test_an_ident_without_espeak_ng_is_the_chime_and_a_failing_one_falls_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    item = ident()
    chime = render(item, espeak=None)  # type: ignore[arg-type]
    assert float(np.max(np.abs(chime))) == pytest.approx(PEAK, abs=1e-3)
    broken = render(item, espeak="/bin/false")  # type: ignore[arg-type]
    assert np.array_equal(broken, chime)
    assert "without words (espeak-ng failed (1)" in caplog.text


def test_a_written_file_is_tagged_flac(tmp_path: Path) -> None:
    item = DEMO_LIBRARY[0]
    path = write(tmp_path, item, seconds=2.0)
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries",
         "stream=codec_name,sample_rate,channels:format_tags=title,artist,album",
         "-of", "default=nw=1", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout.split("\n")  # fmt: skip
    assert {"codec_name=flac", "sample_rate=48000", "channels=2"} <= set(probe)
    tags = {line.split("=", 1)[0].lower(): line.split("=", 1)[1] for line in probe if "TAG" in line}
    assert tags == {
        "tag:title": item.title,
        "tag:artist": item.artist,
        "tag:album": item.album,
    }

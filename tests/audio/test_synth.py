from pathlib import Path

import numpy as np
import pytest

from radio.audio import synth
from radio.audio.pcm import decode_file
from radio.errors import SourceError


def _probe_tags(path: Path) -> dict[str, str]:
    import ffmpeg

    info = ffmpeg.probe(str(path))
    tags: dict[str, str] = {}
    tags.update(info["format"].get("tags", {}))
    for stream in info["streams"]:
        tags.update(stream.get("tags", {}))
    return {k.lower(): v for k, v in tags.items()}


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_lossless_tone_has_exact_length_level_frequency_and_tags(
    tmp_path: Path, suffix: str
) -> None:
    path = synth.tone(
        tmp_path / f"a{suffix}", 440.0, 1.01, level_dbfs=-12.0, title="T", artist="A", album="B"
    )
    pcm = decode_file(str(path))
    assert pcm.shape == (48480, 2)
    assert np.array_equal(pcm[:, 0], pcm[:, 1])
    peak = np.abs(pcm.astype(np.float64)).max() / 32768
    assert 20 * np.log10(peak) == pytest.approx(-12.0, abs=0.05)
    # frequency: count rising zero crossings over the whole second
    left = pcm[:48000, 0].astype(np.float64)
    crossings = np.count_nonzero((left[:-1] < 0) & (left[1:] >= 0))
    assert crossings in (439, 440)
    assert {"title": "T", "artist": "A", "album": "B"}.items() <= _probe_tags(path).items()


@pytest.mark.parametrize(("suffix", "codec"), [(".ogg", None), (".ogg", "opus"), (".mp3", None)])
def test_lossy_containers_decode_to_about_the_right_length(
    tmp_path: Path, suffix: str, codec: str | None
) -> None:
    path = synth.tone(tmp_path / f"a{suffix}", 1000.0, 0.5, codec=codec, title="Lossy")
    pcm = decode_file(str(path))
    assert abs(pcm.shape[0] - 24000) < 2000
    assert _probe_tags(path)["title"] == "Lossy"


def test_chord_peak_stays_under_level_and_noise_is_seeded(tmp_path: Path) -> None:
    pcm = decode_file(str(synth.chord(tmp_path / "c.wav", [261.6, 329.6, 392.0], 0.5)))
    assert np.abs(pcm.astype(np.float64)).max() / 32768 <= synth.amplitude(-20.0) + 1e-4
    a = decode_file(str(synth.noise(tmp_path / "n1.wav", 0.2, seed=7, color="white")))
    b = decode_file(str(synth.noise(tmp_path / "n2.wav", 0.2, seed=7, color="white")))
    assert a.shape == (9600, 2)
    assert np.array_equal(a, b)
    assert np.array_equal(a[:, 0], a[:, 1])
    assert np.abs(a).max() / 32768 == pytest.approx(synth.amplitude(-20.0), rel=0.05)


def test_unknown_suffix_and_bad_duration_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="suffix"):
        synth.tone(tmp_path / "a.xyz", 440.0, 1.0)
    with pytest.raises(ValueError):
        synth.tone(tmp_path / "a.wav", 440.0, 0.0)

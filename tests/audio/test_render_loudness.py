import wave
from pathlib import Path

import numpy as np
import pytest

from radio.audio import synth
from radio.audio.loudness import LoudnessLevels, Measurement, gain_for, measure
from radio.audio.pcm import Int16Array, decode_file
from radio.cli import main
from radio.store.db import Database
from radio.store.loudness import SQLiteLoudnessCache


def _write_wav(path: Path, samples: Int16Array) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(48000)
        out.writeframes(samples.astype("<i2").tobytes())
    return path


def test_gain_for_hits_the_target_unless_the_true_peak_forbids() -> None:
    assert gain_for(Measurement(-30.0, -27.0)) == pytest.approx(14.0)
    assert gain_for(Measurement(-8.0, -5.0)) == pytest.approx(-8.0)
    # +6 dB would put the peak at +1 dBTP: limited to the -1 dBTP ceiling
    assert gain_for(Measurement(-22.0, -5.0)) == pytest.approx(4.0)
    assert gain_for(Measurement(-22.0, -5.0), target_lufs=-23.0, max_true_peak_dbtp=-2.0) == (
        pytest.approx(-1.0)
    )
    assert gain_for(Measurement(None, None)) == 0.0


def test_measurements_are_cached_by_path_size_and_mtime(tmp_path: Path) -> None:
    path = synth.tone(tmp_path / "a.wav", 1000.0, 2.0, level_dbfs=-20.0)
    db = Database(tmp_path / "station.db")
    cache = SQLiteLoudnessCache(db)
    levels = LoudnessLevels(cache=cache)
    first = levels.measurement(str(path))
    assert first is not None and first.integrated_lufs == pytest.approx(-20.0, abs=0.3)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    assert cache.get(*key) == first
    # a planted value proves the second call reads the cache instead of measuring
    planted = Measurement(-40.0, -30.0)
    cache.put(*key, planted)
    assert levels.gain_db(str(path)) == pytest.approx(24.0)
    # a new version of the file (other size) is measured again and replaces the row
    synth.tone(path, 1000.0, 3.0, level_dbfs=-10.0)
    assert levels.gain_db(str(path)) == pytest.approx(-6.0, abs=0.3)
    assert len(db.query("SELECT * FROM loudness")) == 1
    db.close()


def test_render_levels_minus_30_and_minus_8_lufs_tracks_to_the_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    media = tmp_path / "media"
    quiet = synth.tone(media / "1-quiet.flac", 1000.0, 3.0, level_dbfs=-30.0)
    loud = synth.tone(media / "2-loud.flac", 1000.0, 3.0, level_dbfs=-8.0)
    assert measure(str(quiet)).integrated_lufs == pytest.approx(-30.0, abs=0.5)
    assert measure(str(loud)).integrated_lufs == pytest.approx(-8.0, abs=0.5)
    out = tmp_path / "out.wav"
    code = main(
        ["render", str(media), "--duration", "6.5", "-o", str(out), "--no-progress",
         "--data-dir", str(tmp_path / "data")]
    )  # fmt: skip
    assert code == 0
    assert capsys.readouterr().out.strip() == str(out)
    rendered = decode_file(str(out))
    assert rendered.shape == (6.5 * 48000, 2)
    for index, part in enumerate((rendered[:144000], rendered[144000:288000])):
        level = measure(str(_write_wav(tmp_path / f"part{index}.wav", part))).integrated_lufs
        assert level is not None and abs(level - (-16.0)) <= 1.0
    assert not rendered[288000:].any()  # the playlist ended: the root sends silence
    assert np.abs(rendered[:288000, 0]).max() > 0


def test_render_refuses_bad_arguments_with_one_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["render", str(tmp_path / "nope"), "--duration", "1", "-o", "x.wav"])
    assert code == 1
    assert "nope: no such file or folder" in capsys.readouterr().err

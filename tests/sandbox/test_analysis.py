"""The analysis helpers find tones, their order, pauses and missing frames."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from radio.sandbox.analysis import arrival_gaps, missing_sequences, peak_frequency, tone_runs
from radio.sandbox.record import PacketRecord

RATE = 48_000


def tone(freq: float, seconds: float, level: float = 0.25) -> npt.NDArray[np.int16]:
    t = np.arange(round(seconds * RATE)) / RATE
    mono = (np.sin(2 * np.pi * freq * t) * level * 32767).astype(np.int16)
    return np.stack([mono, mono], axis=1)


def silence(seconds: float) -> npt.NDArray[np.int16]:
    return np.zeros((round(seconds * RATE), 2), dtype=np.int16)


def packet(sequence: int, arrival: float) -> PacketRecord:
    return PacketRecord(arrival, sequence, 960 * sequence, 1, 1, False, 60, True, None)


def test_peak_frequency_resolves_a_fractional_tone() -> None:
    signal = tone(523.25, 0.3)[:, 0].astype(np.float64)

    assert abs(peak_frequency(signal) - 523.25) < 0.1


def test_tone_runs_are_found_in_order_and_split_by_silence() -> None:
    audio = np.concatenate(
        [tone(440, 0.4), tone(660, 0.4), silence(0.2), tone(660, 0.4), tone(329.63, 0.4)]
    )

    runs = tone_runs(audio)

    assert [round(r.frequency, 1) for r in runs] == [440.0, 660.0, 660.0, 329.6]
    assert all(abs(r.seconds - 0.4) <= 0.1 for r in runs)
    assert runs[2].start >= round(1.0 * RATE)  # the second 660 begins after the pause


def test_silence_and_clicks_are_not_tones() -> None:
    audio = np.concatenate([silence(0.5), tone(1000, 0.06), silence(0.5)])

    assert tone_runs(audio) == []


def test_missing_sequences_across_the_wrap() -> None:
    packets = [packet(s, 0.02 * i) for i, s in enumerate([65533, 65534, 0, 1, 4])]

    assert missing_sequences(packets) == [65535, 2, 3]


def test_arrival_gaps() -> None:
    packets = [packet(i, t) for i, t in enumerate([0.0, 0.02, 0.04, 0.5])]

    assert [round(g, 3) for g in arrival_gaps(packets)] == [0.02, 0.02, 0.46]

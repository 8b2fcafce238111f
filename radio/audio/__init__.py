"""The audio engine: frames, sources, operators, FFmpeg decoding, loudness.

Never imports discord, the grid or the store's callers: it is pure audio.
Modules (import them directly; this package re-exports nothing, so importing
``radio.audio.frames`` stays cheap):

- ``frames``, ``source``, ``track``: the frame format, the Source contract, Track,
  TrackProvider and TimedTrackProvider.
- ``decoder``: FFmpegDecoder (one FFmpeg process into a bounded buffer), probe.
- ``sequence``: TrackSequence (gapless or crossfaded tracks, preload, bad media).
- ``operators``: Silence, Sine, Gain (ramps, fades, ducking), Mix.
- ``switch``: Switch (exact-frame and after-track selection), Fallback.
- ``root``: Infallible, the station root. ``prefetch``: Prefetch (burst reads).
- ``loudness``: EBU R128 measurement, gain_for, LoudnessLevels.
- ``curves``: the transition gain curves. ``pcm``: bytes <-> numpy.
- ``buffering``: wait_buffered for offline pulling. ``tracklist``: TrackList.
- ``synth``: tones, chords and noise generated with FFmpeg.

See docs/engine.md.
"""

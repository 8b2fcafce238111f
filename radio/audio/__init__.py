"""The audio engine: frames, sources, operators, FFmpeg decoding, loudness.

Never imports discord, the grid or the store's callers: it is pure audio.
"""

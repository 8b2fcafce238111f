"""Playlists: their schema (:mod:`~radio.playlists.model`), the track library behind
them (:mod:`~radio.playlists.library`, ffprobe tags) and the rotation rules
(:mod:`~radio.playlists.rotation`: shuffle/random/sequential, weights, separation,
jingles, station IDs)."""

"""Playlists: their files, the track library behind them, and the rotation rules."""

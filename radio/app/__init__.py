"""The application layer: the station on Discord (``radio run``) composed from its parts."""

from radio.app.station_app import AppOptions, StationApp, rooms_of

__all__ = ["AppOptions", "StationApp", "rooms_of"]

"""The station's HTTP face: public page, now-playing JSON (AzuraCast's shape), /metrics,
/healthz. See docs/web.md."""

from radio.web.eventcounts import EventCounts
from radio.web.server import WebServer
from radio.web.view import StationView

__all__ = ["EventCounts", "StationView", "WebServer"]

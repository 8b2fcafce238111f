"""radio: a Discord radio station in a box."""

__version__ = "0.1.0"

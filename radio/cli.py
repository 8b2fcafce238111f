"""The ``radio`` command line: radio run | demo | relay | check | grid | render.

The application layer: it reads the wall clock, sets up logging and turns
RadioError into one clear message and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from radio import __version__
from radio.errors import RadioError, UsageError

logger = logging.getLogger(__name__)

# Each name is a module in radio.commands exposing register(subparsers).
COMMANDS: tuple[str, ...] = ("render", "check", "grid", "run", "demo", "relay")


DESCRIPTION = (
    "Discord radio automation: run a station, try the demo, relay a mount, check a station"
    " folder, print its grid or render it to a file. Every command that reads a station"
    " takes --station DIR (default: the working directory)."
)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, once: not for flags, options without a default,
    or help texts that already say it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            "default" in text.lower()
            or default is None
            or default is False
            or default is argparse.SUPPRESS
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)"


def build_parser() -> argparse.ArgumentParser:
    """Return the parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="radio", description=DESCRIPTION, formatter_class=HelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"radio {__version__}")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"radio.commands.{name}")
        module.register(subparsers)
    for sub in subparsers.choices.values():
        sub.formatter_class = HelpFormatter  # one way to show defaults, in every command
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return func(args)
    except UsageError as exc:
        print(f"radio: error: {exc}", file=sys.stderr)
        return 2
    except RadioError as exc:
        print(f"radio: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

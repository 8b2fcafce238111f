"""One module per CLI subcommand; each exposes ``register(subparsers)``.

A command module's ``register`` adds its parser and sets ``func`` to a function
taking the parsed namespace and returning the process exit code.
"""

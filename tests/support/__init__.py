"""Scaffolding shared by the test packages, imported as ``support`` (pytest puts
``tests/`` on ``sys.path`` for the packages below it). A module that bench/ imports
too (as ``tests.…``: tests/bot/e2e.py, for bench/duck.py) cannot import from here."""

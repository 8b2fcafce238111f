"""Scaffolding shared by the test packages (imported as ``support``: pytest puts
``tests/`` on ``sys.path`` for the packages below it)."""

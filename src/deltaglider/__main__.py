"""``python -m deltaglider``: the command line."""

from deltaglider.cli.main import entry

entry()

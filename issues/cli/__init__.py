"""The commands of the issues area, one module per command group (``cli.py`` loads each on first use)."""

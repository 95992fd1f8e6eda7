"""awx-eventdebug: find out why AWX job output shows up late in the UI."""

__version__ = "0.1.0"

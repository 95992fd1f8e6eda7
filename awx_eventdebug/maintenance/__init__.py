"""Maintenance: the one background thread of the app, run by AWX's long-running services
(``thread.py``, started by the app's ready() when EVENTDEBUG['MAINTENANCE'] is on), and what it
does each slot (``slot.py``): the node's snapshot, the lag rollups, every retention purge."""

"""Attaching the capture handler to ``channels_redis.core``, as the app's ready() does.

channels_redis logs its overflow records at INFO, and AWX leaves that logger at WARNING: capture
needs the logger lowered to INFO without anything the admin configured seeing more than before.
"""

from __future__ import annotations

import logging

from .handler import OverflowCaptureHandler
from .record import LOGGER_NAME


class LevelFloor(logging.Filter):
    """Keeps a handler at the level its logger had before install() lowered the logger, for that
    logger's records only: the same handler may serve other loggers (AWX shares its console and
    file handlers), whose records it must pass as before."""

    def __init__(self, level: int, logger_name: str):
        super().__init__()
        self.level = level
        self.logger_name = logger_name

    def filter(self, record):
        name = record.name
        if name != self.logger_name and not name.startswith(self.logger_name + "."):
            return True
        return record.levelno >= self.level


class PropagateAtLevel(logging.Handler):
    """Propagation to the ancestors' handlers, as Logger.callHandlers does it, but only for
    records at or above the level the logger had before install() lowered it to INFO."""

    def __init__(self, logger: logging.Logger, level: int, own_handlers: int):
        super().__init__(level)
        self.logger = logger
        self.own_handlers = own_handlers

    def handle(self, record):
        found = self.own_handlers
        ancestor = self.logger.parent
        while ancestor is not None:
            for handler in ancestor.handlers:
                found += 1
                if record.levelno >= handler.level:
                    handler.handle(record)
            if not ancestor.propagate:
                break
            ancestor = ancestor.parent
        last_resort = logging.lastResort
        if not found and last_resort is not None and record.levelno >= last_resort.level:
            last_resort.handle(record)
        return True

    def emit(self, record):
        self.handle(record)


# logger name -> what install() attached and changed, so uninstall() can put it back.
_INSTALLED: dict[str, dict] = {}


def install(logger_name: str = LOGGER_NAME) -> OverflowCaptureHandler:
    """Attach a capture handler to ``logger_name`` (once) and make its INFO records reach it.

    When the logger's effective level is above INFO (AWX: not configured, so WARNING from its
    ancestors) it is lowered to INFO, and what the admin had configured keeps seeing only records
    at the old level or above: the logger's own handlers get a LevelFloor filter, and
    propagation to the ancestors goes through a PropagateAtLevel handler instead.
    """
    if logger_name in _INSTALLED:
        return _INSTALLED[logger_name]["handler"]
    logger = logging.getLogger(logger_name)
    before = {"level": logger.level, "propagate": logger.propagate, "handlers": list(logger.handlers)}
    handler = next((h for h in logger.handlers if isinstance(h, OverflowCaptureHandler)), None)
    added = []
    if handler is None:
        handler = OverflowCaptureHandler()
        added.append(handler)
    admin_level = logger.getEffectiveLevel()
    floors = []
    if admin_level > logging.INFO:
        for existing in before["handlers"]:
            if existing is not handler:
                floor = LevelFloor(admin_level, logger_name)
                existing.addFilter(floor)
                floors.append((existing, floor))
        if logger.propagate:
            own = sum(1 for h in before["handlers"] if h is not handler)
            added.append(PropagateAtLevel(logger, admin_level, own))
            logger.propagate = False
        logger.setLevel(logging.INFO)
    for new in added:
        logger.addHandler(new)
    _INSTALLED[logger_name] = {"handler": handler, "before": before, "added": added, "floors": floors}
    return handler


def uninstall(logger_name: str = LOGGER_NAME) -> None:
    """Undo install(): the logger's level, propagation and handlers as they were."""
    entry = _INSTALLED.pop(logger_name, None)
    if entry is None:
        return
    logger = logging.getLogger(logger_name)
    for new in entry["added"]:
        logger.removeHandler(new)
        new.close()
    for existing, floor in entry["floors"]:
        existing.removeFilter(floor)
    logger.setLevel(entry["before"]["level"])
    logger.propagate = entry["before"]["propagate"]


def installed_handler(logger_name: str = LOGGER_NAME) -> OverflowCaptureHandler | None:
    entry = _INSTALLED.get(logger_name)
    return entry["handler"] if entry else None

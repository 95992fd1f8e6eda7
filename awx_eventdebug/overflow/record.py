"""What a channels_redis overflow record is: one rule for the live handler and for ingest.

channels_redis logs ``"%s of %s channels over capacity in group %s"`` at INFO on
``channels_redis.core`` each time group_send finds full queues (channels_redis/core.py,
``group_send``): one group message dropped for that many of the group's members. Both the handler
and ``eventdebug ingest`` read such a record into (queues over capacity, group members, group),
count it under a node, in a window of CAPTURE_WINDOW seconds, with names cut to the columns.
"""

from __future__ import annotations

import hashlib
import logging
import re
import socket
from datetime import datetime

from django.conf import settings

from ..columns import NAME_MAX_LENGTH
from ..timeutil import utc_from_epoch

LOGGER_NAME = "channels_redis.core"
OVERFLOW_FORMAT = "%s of %s channels over capacity in group %s"
# Every overflow message holds this text: a cheap test before the pattern.
MARKER = "channels over capacity in group"
# A count preceded by a sign, a point or a word character ("-1 of 4", "1.5 of 4") is no count
# channels_redis wrote: without the look-behind the search would read "1 of 4" out of it.
OVERFLOW_PATTERN = re.compile(r"(?<![\w.+-])(\d+) of (\d+) channels over capacity in group (\S+)")
# Counts beyond a 32-bit column are not from channels_redis; they would poison every flush.
LARGEST_COUNT = 2**31 - 1


def node_name() -> str:
    """This AWX node: settings.CLUSTER_HOST_ID when set, else the host name."""
    return getattr(settings, "CLUSTER_HOST_ID", None) or socket.gethostname()


def sensible_counts(queues: int, members: int) -> bool:
    """Whether a record's counts can come from channels_redis: it logs only when a queue was
    full, and counts the full queues among the group's members."""
    return 0 < queues <= members <= LARGEST_COUNT


def storable_count(digits: str) -> bool:
    """Whether a count matched as digits fits LARGEST_COUNT; the length is checked first so that a
    line of thousands of digits costs no int() (which refuses over 4300 digits anyway)."""
    return len(digits) <= len(str(LARGEST_COUNT)) and int(digits) <= LARGEST_COUNT


def parse_message(text: str) -> tuple[int, int, str] | None:
    """(queues over capacity, group members, group) of an overflow message, else None."""
    match = OVERFLOW_PATTERN.search(text)
    if match is None or not (storable_count(match[1]) and storable_count(match[2])):
        return None
    queues, members = int(match[1]), int(match[2])
    if not sensible_counts(queues, members):
        return None
    return queues, members, match[3]


def parse_record(record: logging.LogRecord) -> tuple[int, int, str] | None:
    """parse_message() of a log record, as the live handler reads it.

    The record channels_redis makes is read from its args without formatting; anything else is
    formatted and matched only when its template holds the MARKER. May raise when the record's
    message object does (the handler counts that as ignored).
    """
    msg = record.msg
    if msg == OVERFLOW_FORMAT:
        args = record.args
        if type(args) is tuple and len(args) == 3:
            queues, members, group = args
            if type(queues) is int and type(members) is int and type(group) is str:
                return (queues, members, group) if sensible_counts(queues, members) else None
    elif isinstance(msg, str) and MARKER not in msg:
        return None
    return parse_message(record.getMessage())


def storable_name(name: str) -> str:
    """``name`` as it can be stored: NUL removed (PostgreSQL text refuses it), and a name
    longer than the column cut, with a hash of the whole name so distinct names stay distinct."""
    name = name.replace("\x00", "\ufffd")
    if len(name) <= NAME_MAX_LENGTH:
        return name
    digest = hashlib.blake2b(name.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()
    return f"{name[: NAME_MAX_LENGTH - 18]}..{digest}"


def window_start_epoch(epoch: float, window: int) -> int:
    """Start, in epoch seconds, of the ``window``-second window holding ``epoch``. Windows are
    aligned on the epoch, so every process, node and ingest counts into the same rows."""
    return int(epoch // window) * window


def window_start(moment: datetime, window: int) -> datetime:
    """The start of the window holding ``moment``, as the aware UTC datetime a row stores."""
    return utc_from_epoch(window_start_epoch(moment.timestamp(), window))

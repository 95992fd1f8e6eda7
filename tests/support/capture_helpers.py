"""Shared by the capture, ingest and API tests: log records as loggers make them, and reading the
ChannelOverflow table back."""

import logging

from awx_eventdebug.models import ChannelOverflow


def make_record(msg, args, name="channels_redis.core", created=None):
    record = logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)
    if created is not None:
        record.created = created
    return record


def drops_by_group(**filters) -> dict[str, int]:
    totals: dict[str, int] = {}
    for row in ChannelOverflow.objects.filter(**filters):
        totals[row.group] = totals.get(row.group, 0) + row.drops
    return totals

"""Shared by the capture, ingest and API tests: reading the ChannelOverflow table back."""

from awx_eventdebug.models import ChannelOverflow


def drops_by_group(**filters) -> dict[str, int]:
    totals: dict[str, int] = {}
    for row in ChannelOverflow.objects.filter(**filters):
        totals[row.group] = totals.get(row.group, 0) + row.drops
    return totals

"""Adding counts to ChannelOverflow rows atomically, from any number of processes and nodes.

One statement per batch: ``INSERT ... ON CONFLICT (node, group, window_start, source) DO UPDATE
SET drops = t.drops + EXCLUDED.drops, ...``, the SET list being counts.py's merge rule. The
database serialises the writers on the row, so two processes adding to the same window never lose
an update (PostgreSQL, and SQLite 3.24+). The drops written are added to OverflowTotal in the same
transaction, the same way: the counter GET metrics/ reads.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from django.db import DataError, IntegrityError, connections, transaction

from ..awx.messages import group_kind
from ..db import bounded_transaction
from ..errors import first_line
from .counts import Counts, merge_assignments, merge_into
from .record import storable_name

# Rows per statement: 9 parameters each stays below SQLite's oldest variable limit (999).
ROWS_PER_STATEMENT = 100

# What the database (or its driver, adapting a value) raises for one row it refuses, such as a
# name with a lone surrogate that no encoding accepts; an outage fails every row alike instead.
ROW_ERRORS = (DataError, IntegrityError, ValueError)

COLUMNS = (
    "node",
    "group",
    "window_start",
    "source",
    "first_seen",
    "last_seen",
    "drops",
    "queues_over",
    "max_group_size",
)


# What a batch adds to OverflowTotal: {(node, group kind, source): drops}.
Totals = dict[tuple[str, str, str], int]


def add_counts(
    rows: dict[tuple[str, str, datetime, str], Counts],
    using: str = "default",
    refused: dict | None = None,
    totals: Totals | None = None,
) -> int:
    """Add ``rows`` ({(node, group, window_start, source): Counts}) to the table, and their drops
    to OverflowTotal, in one bounded transaction (a lock held on the table fails it, not hangs
    it); returns the number of rows written (inserted or updated).

    With a ``refused`` dict, a row the database refuses (ROW_ERRORS) is set aside there (its key
    -> why) and the others are written; without one, it fails the whole batch. With a ``totals``
    dict, the drops written are added to it instead, for the caller to write with add_totals()
    last in its own longer transaction: a batch that wrote the totals would hold their rows' locks
    while the transaction goes on to lock more overflow rows, the order other writers lock in
    reversed."""
    from ..models import ChannelOverflow

    if not rows:
        return 0
    connection = connections[using]
    table = connection.ops.quote_name(ChannelOverflow._meta.db_table)
    quoted = {column: connection.ops.quote_name(column) for column in COLUMNS}
    key = ", ".join(quoted[c] for c in COLUMNS[:4])
    updates = merge_assignments(connection.vendor, connection.ops.quote_name, "t")
    adapt = connection.ops.adapt_datetimefield_value
    # One statement must not touch a row twice, and two names may store as one.
    merged: dict[tuple[str, str, datetime, str], Counts] = {}
    for (node, group, window_start, source), counts in rows.items():
        # A copy: the caller's counts stay as they were.
        merge_into(merged, (storable_name(node), storable_name(group), window_start, source), replace(counts))
    # A fixed order: two writers upserting overlapping batches then lock rows in the same order
    # and cannot deadlock each other.
    ordered = sorted(merged.items(), key=lambda item: item[0])
    sql = (
        f"INSERT INTO {table} AS t ({', '.join(quoted.values())}) VALUES {{placeholders}} "
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )

    # The drops of the rows written: a refused row adds none.
    written_drops: Totals = {} if totals is None else totals

    def execute(cursor, chunk) -> int:
        params = []
        for (node, group, window_start, source), counts in chunk:
            params += [
                node,
                group,
                adapt(window_start),
                source,
                adapt(counts.first_seen),
                adapt(counts.last_seen),
                counts.drops,
                counts.queues_over,
                counts.max_group_size,
            ]
        placeholders = ", ".join(["(" + ", ".join(["%s"] * len(COLUMNS)) + ")"] * len(chunk))
        cursor.execute(sql.format(placeholders=placeholders), params)
        for (node, group, _window_start, source), counts in chunk:
            key = (node, group_kind(group), source)
            written_drops[key] = written_drops.get(key, 0) + counts.drops
        return len(chunk)

    written = 0
    with bounded_transaction(using), connection.cursor() as cursor:
        for start in range(0, len(ordered), ROWS_PER_STATEMENT):
            chunk = ordered[start : start + ROWS_PER_STATEMENT]
            if refused is None:
                written += execute(cursor, chunk)
            else:
                written += _write_or_set_aside(cursor, chunk, execute, refused, using)
        if totals is None:
            _add_totals(cursor, connection, written_drops)
    return written


def add_totals(totals: Totals, using: str = "default") -> None:
    """Add ``totals`` (what add_counts(totals=...) gathered) to OverflowTotal, in one bounded
    transaction: the caller's, at its end."""
    connection = connections[using]
    with bounded_transaction(using), connection.cursor() as cursor:
        _add_totals(cursor, connection, totals)


def _add_totals(cursor, connection, totals: Totals) -> None:
    """Add ``totals`` to OverflowTotal in the caller's transaction, in a fixed order (two writers
    cannot deadlock), ROWS_PER_STATEMENT at a time (SQLite's variable limit: ingest can name
    many nodes)."""
    from ..models import OverflowTotal

    quote = connection.ops.quote_name
    table = quote(OverflowTotal._meta.db_table)
    columns = ", ".join(quote(c) for c in ("node", "group_kind", "source", "drops"))
    key = ", ".join(quote(c) for c in ("node", "group_kind", "source"))
    drops = quote("drops")
    rows = sorted(totals.items())
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start : start + ROWS_PER_STATEMENT]
        cursor.execute(
            f"INSERT INTO {table} AS t ({columns}) VALUES {', '.join(['(%s, %s, %s, %s)'] * len(chunk))} "
            f"ON CONFLICT ({key}) DO UPDATE SET {drops} = t.{drops} + EXCLUDED.{drops}",
            [value for (node, kind, source), total in chunk for value in (node, kind, source, total)],
        )


def _write_or_set_aside(cursor, chunk, execute, refused: dict, using: str) -> int:
    """Write ``chunk`` in one statement or, when a row of it is refused, row by row, each under
    a savepoint (PostgreSQL aborts the whole transaction otherwise); rows written."""
    try:
        with transaction.atomic(using=using):
            return execute(cursor, chunk)
    except ROW_ERRORS:
        pass
    written = 0
    for row in chunk:
        try:
            with transaction.atomic(using=using):
                written += execute(cursor, [row])
        except ROW_ERRORS as exc:
            refused[row[0]] = f"{type(exc).__name__}: {first_line(exc)}"
    return written

import gzip
import io
import itertools
import json
import struct
import sys
import threading
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from awx_eventdebug.columns import SOURCE_INGEST
from awx_eventdebug.maintenance.slot import upkeep
from awx_eventdebug.models import ChannelOverflow, IngestedRecord, IngestHorizon, OverflowTotal
from awx_eventdebug.overflow.logread import MAX_LINE_BYTES
from awx_eventdebug.overflow.queries import cumulative_drops, purge_overflow
from tests.support.capture_helpers import drops_by_group

pytestmark = pytest.mark.django_db

SEED = (
    "2021-04-28 20:53:51,230 INFO     channels_redis.core 1 of 4 channels over capacity in group "
    "broadcast-group_send\n"
    "2021-04-28 20:53:51,231 INFO     channels_redis.core 1 of 1 channels over capacity in group "
    "job_events-49\n"
)


def line(second, group, queues=1, members=2, millis=0):
    return (
        f"2021-04-28 20:53:{second:02d},{millis:03d} INFO     channels_redis.core "
        f"{queues} of {members} channels over capacity in group {group}\n"
    )


def ingest(tmp_path, *contents, args=(), name="tower.log"):
    """Write each content to a file of its own, ingest them all; the --json report."""
    paths = []
    for index, content in enumerate(contents):
        path = tmp_path / f"{index}-{name}"
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        paths.append(str(path))
    out, err = StringIO(), StringIO()
    try:
        call_command("eventdebug", "ingest", "--json", *paths, *args, stdout=out, stderr=err)
        returncode = 0
    except CommandError as exc:
        returncode = exc.returncode
        err.write(str(exc))
    result = json.loads(out.getvalue())
    result["stderr"] = err.getvalue()
    result["returncode"] = returncode
    return result


def test_seed_lines_give_the_expected_rows(tmp_path):
    result = ingest(tmp_path, SEED + "2021-04-28 20:53:52,000 INFO     awx.main something else\n")
    assert result["totals"] | {"bytes": 0} == {
        "lines": 3,
        "records": 2,
        "new_records": 2,
        "duplicates": 0,
        "too_old_records": 0,
        "unverified_records": 0,
        "bad_lines": 0,
        "bytes": 0,
        "unreadable_files": 0,
    }
    rows = {r.group: r for r in ChannelOverflow.objects.all()}
    assert set(rows) == {"broadcast-group_send", "job_events-49"}
    broadcast = rows["broadcast-group_send"]
    assert (broadcast.node, broadcast.source) == ("example-node", "ingest")
    assert (broadcast.drops, broadcast.queues_over, broadcast.max_group_size) == (1, 1, 4)
    assert broadcast.window_start == datetime(2021, 4, 28, 20, 53, tzinfo=UTC)
    assert broadcast.first_seen == datetime(2021, 4, 28, 20, 53, 51, 230000, tzinfo=UTC)
    assert rows["job_events-49"].max_group_size == 1
    assert result["stderr"] == ""  # no progress on a pipe
    assert result["returncode"] == 0


def test_ingesting_twice_or_an_overlapping_rotation_counts_once(tmp_path):
    first = line(1, "job_events-1") + line(2, "job_events-1") + line(3, "job_events-2")
    rotated = line(2, "job_events-1") + line(3, "job_events-2") + line(4, "job_events-2")
    ingest(tmp_path, first)
    again = ingest(tmp_path, first, rotated)
    assert [(f["new_records"], f["duplicates"]) for f in again["files"]] == [(0, 3), (1, 2)]
    assert drops_by_group() == {"job_events-1": 2, "job_events-2": 2}


def test_identical_lines_in_one_millisecond_are_separate_records(tmp_path):
    same = line(1, "broadcast-group_send")
    ingest(tmp_path, same * 2)
    assert drops_by_group() == {"broadcast-group_send": 2}
    result = ingest(tmp_path, same * 3)  # the two already counted, and one more
    assert result["totals"]["new_records"] == 1
    assert drops_by_group() == {"broadcast-group_send": 3}


def test_gzip_and_plain_copies_of_a_log_are_one_log(tmp_path):
    result = ingest(tmp_path, gzip.compress(SEED.encode()), SEED)
    assert [f["compressed"] for f in result["files"]] == [True, False]
    assert [f["new_records"] for f in result["files"]] == [2, 0]
    # The compressed file's totals, added at the end of its transaction.
    assert sum(cumulative_drops(SOURCE_INGEST).values()) == sum(drops_by_group().values()) == 2


def test_standard_input(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(SEED.encode()))))
    out = StringIO()
    call_command("eventdebug", "ingest", "-", "--node", "awx-2", stdout=out, stderr=StringIO())
    assert "awx-2" in out.getvalue()
    assert set(ChannelOverflow.objects.values_list("node", flat=True)) == {"awx-2"}


def test_other_nodes_logs_are_other_rows(tmp_path):
    ingest(tmp_path, SEED, args=("--node", "awx-1"))
    ingest(tmp_path, SEED, args=("--node", "awx-2"))
    assert (
        sorted(ChannelOverflow.objects.values_list("node", "drops"))
        == [("awx-1", 1)] * 2 + [("awx-2", 1)] * 2
    )


def test_bad_lines_are_skipped_and_counted(tmp_path):
    content = (
        "no time here: 1 of 4 channels over capacity in group g\n"
        + "2021-04-28 20:53:51,230 INFO channels_redis.core x of 4 channels over capacity in group g\n"
        + "2021-13-45 20:53:51,230 INFO channels_redis.core 1 of 4 channels over capacity in group g\n"
        + "x" * (MAX_LINE_BYTES + 10)
        + "1 of 4 channels over capacity in group g\n"
        + "y" * (MAX_LINE_BYTES + 10)
        + "\n"
        + line(5, "job_events-7")
        + "\xff\xfe not utf-8 either\n"
    )
    result = ingest(tmp_path, content.encode("utf-8", "surrogateescape"), args=("-v", "2"))
    assert result["totals"]["bad_lines"] == 4  # a long line without the overflow text is no candidate
    assert result["totals"]["lines"] == 7
    assert drops_by_group() == {"job_events-7": 1}
    assert result["returncode"] == 1 and result["skipped"]
    located = [line.split(": rejected: ")[0].rsplit(":", 1)[1] for line in result["stderr"].splitlines()[:4]]
    assert located == ["1", "2", "3", "4"]
    assert "skipped 4 rejected lines and 0 files not read to the end" in result["stderr"]


def test_journalctl_short_iso_names_the_node(tmp_path):
    content = (
        "2021-04-28T20:53:51+0000 awx-web-1 awx-manage[412]: 2021-04-28 20:53:51,230 INFO     "
        "channels_redis.core 3 of 5 channels over capacity in group job_events-3\n"
        "2021-04-28T20:53:52.500000+00:00 awx-web-2 daphne[9]: "
        "1 of 5 channels over capacity in group job_events-3\n"
    )
    ingest(tmp_path, content)
    rows = dict(ChannelOverflow.objects.values_list("node", "queues_over"))
    assert rows == {"awx-web-1": 3, "awx-web-2": 1}


def export_entry(fields, binary_message=None):
    data = b"".join(f"{k}={v}\n".encode() for k, v in fields.items())
    if binary_message is not None:
        data += b"MESSAGE\n" + struct.pack("<Q", len(binary_message)) + binary_message + b"\n"
    return data + b"\n"


def test_journal_export_entries_by_cursor(tmp_path):
    at = int(datetime(2021, 4, 28, 20, 53, 51, tzinfo=UTC).timestamp() * 1e6)
    entries = [
        export_entry(
            {
                "__CURSOR": "s=1;i=1",
                "__REALTIME_TIMESTAMP": at,
                "_HOSTNAME": "awx-task",
                "MESSAGE": "1 of 2 channels over capacity in group broadcast-group_send",
            }
        ),
        # The same text and time twice, told apart by the cursor.
        export_entry(
            {
                "__CURSOR": "s=1;i=2",
                "__REALTIME_TIMESTAMP": at,
                "_HOSTNAME": "awx-task",
                "MESSAGE": "1 of 2 channels over capacity in group broadcast-group_send",
            }
        ),
        # A binary field (the message holds a newline).
        export_entry(
            {"__CURSOR": "s=1;i=3", "__REALTIME_TIMESTAMP": at + 1000, "_HOSTNAME": "awx-task"},
            binary_message=b"2 of 2 channels over capacity in group job_events-5\nsecond line",
        ),
        export_entry({"__CURSOR": "s=1;i=4", "MESSAGE": "1 of 2 channels over capacity in group g"}),
        export_entry({"__CURSOR": "s=1;i=5", "__REALTIME_TIMESTAMP": at, "MESSAGE": "unrelated"}),
    ]
    content = b"".join(entries)
    result = ingest(tmp_path, content, name="journal.export")
    report = result["files"][0]
    assert (report["format"], report["records"], report["bad_lines"], report["lines"]) == (
        "journal-export",
        3,
        1,
        5,
    )
    assert drops_by_group(node="awx-task") == {"broadcast-group_send": 2, "job_events-5": 1}
    assert ingest(tmp_path, content, name="journal.export")["totals"]["new_records"] == 0


def test_unreadable_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="cannot read .*missing.log") as caught:
        call_command("eventdebug", "ingest", str(tmp_path / "missing.log"), stdout=StringIO())
    assert caught.value.returncode == 2
    assert not ChannelOverflow.objects.exists()


def test_human_output_is_a_table(tmp_path):
    path = tmp_path / "tower.log"
    path.write_text(SEED)
    out = StringIO()
    call_command("eventdebug", "ingest", str(path), stdout=out, stderr=StringIO())
    header, row = out.getvalue().splitlines()[:2]
    assert header.split() == ["file", "format", "lines", "records", "new", "already", "counted", "bad"]
    assert row.split()[1:] == ["log", "2", "2", "2", "0", "0"]


class Terminal(StringIO):
    def isatty(self):
        return True


def test_progress_on_a_terminal_shows_percent_and_time_left(tmp_path, monkeypatch):
    from awx_eventdebug.overflow import logread

    monkeypatch.setattr(logread, "PROGRESS_SECONDS", 0)
    monkeypatch.setattr(logread, "BLOCK_BYTES", 1 << 16)
    path = tmp_path / "tower.log"
    path.write_text("2021-04-28 20:53:51,230 INFO     awx.main.dispatch task finished\n" * 9000 + SEED)
    err = Terminal()
    call_command("eventdebug", "ingest", str(path), stdout=StringIO(), stderr=err)
    updates = [u for u in err.getvalue().split("\r") if u.startswith("ingest:")]
    assert updates and "% , about" not in updates[0]
    assert all("%, about " in u and " s left" in u for u in updates)


def test_a_truncated_gzip_counts_nothing_and_the_next_file_is_read(tmp_path):
    lines = "".join(line(s % 60, f"job_events-{s}") for s in range(2000))
    truncated = gzip.compress(lines.encode())[:-2000]
    corrupt = gzip.compress(SEED.encode())[:20] + b"\x00garbage" * 50
    result = ingest(tmp_path, truncated, corrupt, line(1, "after"))
    first, second, third = result["files"]
    assert first["error"].startswith("truncated gzip after ") and 0 < first["records"] < 2000
    assert (first["new_records"], first["unverified_records"]) == (0, first["records"])
    assert second["error"].startswith("corrupt gzip")
    assert third["error"] is None and third["new_records"] == 1
    assert result["totals"]["unreadable_files"] == 2
    assert result["returncode"] == 1
    assert drops_by_group() == {"after": 1}
    assert cumulative_drops(SOURCE_INGEST) == {("example-node", "other"): 1}  # none of the truncated file's


def test_a_corrupt_gzip_counts_none_of_its_records_and_its_intact_copy_counts_each_once(tmp_path):
    # A bit flipped anywhere in the compressed data: gzip finds it at the latest by its CRC, at
    # the end, after handing out what the flip garbled (lines that may still read as records);
    # near the end, the garbled data may also end as if the file were cut short.
    lines = "".join(line(n % 60, f"job_events-{n}", millis=n % 1000) for n in range(1000))
    packed = gzip.compress(lines.encode())
    read_before_the_fault = 0
    # Through the deflate data, and its last byte (whose last bits are padding that gzip ignores).
    positions = [*range(10, len(packed) - 8, len(packed) // 20), len(packed) - 9]
    for position in positions:
        for bit in (0, 5):
            damaged = bytearray(packed)
            damaged[position] ^= 1 << bit
            for model in (ChannelOverflow, IngestedRecord, OverflowTotal):
                model.objects.all().delete()
            case = (position, bit)
            first, after = ingest(tmp_path, bytes(damaged), line(1, "after"))["files"]
            if first["error"] is None:  # a padding bit: the data decompressed whole and right
                assert first["new_records"] == 1000, case
            else:
                assert first["error"].startswith(("corrupt gzip", "truncated gzip")), case
                assert (first["new_records"], first["unverified_records"]) == (0, first["records"]), case
                assert drops_by_group() == {"after": 1}, case
                read_before_the_fault += first["records"]
            ingest(tmp_path, packed)
            assert sum(drops_by_group().values()) == 1001, case
            assert sum(cumulative_drops(SOURCE_INGEST).values()) == 1001, case
    assert read_before_the_fault > 0  # flips the reader passed before it could tell


def test_a_corrupt_gzip_is_named_in_the_text_output(tmp_path):
    damaged = bytearray(gzip.compress(SEED.encode()))
    damaged[-5] ^= 1  # the CRC itself
    path = tmp_path / "tower.log.1.gz"
    path.write_bytes(bytes(damaged))
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("eventdebug", "ingest", str(path), stdout=out)
    text = out.getvalue()
    assert f"{path}: none of its 2 records counted: the compressed data did not decompress whole" in text


def test_times_out_of_range_and_absurd_journal_stamps_are_rejected_lines(tmp_path):
    shifted = (
        "0001-01-01 00:00:00,000+05:00 INFO 1 of 2 channels over capacity in group early\n"
        "9999-12-31 23:59:59,999-05:00 INFO 1 of 2 channels over capacity in group late\n"
    ) + line(1, "fine")
    result = ingest(tmp_path, shifted, args=("-v", "2"))
    assert result["totals"]["bad_lines"] == 2 and drops_by_group() == {"fine": 1}
    assert "0-tower.log:1: rejected: time out of range" in result["stderr"]
    absurd = export_entry(
        {
            "__CURSOR": "s=9",
            "__REALTIME_TIMESTAMP": "9" * 30,
            "MESSAGE": "1 of 2 channels over capacity in group j",
        }
    ) + export_entry(
        {
            "__CURSOR": "s=10",
            "__REALTIME_TIMESTAMP": 10**15,
            "MESSAGE": "1 of 2 channels over capacity in group j",
        }
    )
    result = ingest(tmp_path, absurd, args=("-v", "2"), name="journal.export")
    assert (result["totals"]["bad_lines"], result["totals"]["new_records"]) == (1, 1)
    assert "journal.export:1: rejected: no usable __REALTIME_TIMESTAMP" in result["stderr"]


def test_ctrl_c_stops_with_what_was_counted(tmp_path, monkeypatch):
    from awx_eventdebug.overflow import ingest as ingest_module

    def interrupted_after_first(self, label, stream):
        if self.files:
            raise KeyboardInterrupt
        return original(self, label, stream)

    original = ingest_module.IngestRun.ingest
    monkeypatch.setattr(ingest_module.IngestRun, "ingest", interrupted_after_first)
    result = ingest(tmp_path, SEED, line(9, "never"))
    assert result["interrupted"] and result["returncode"] == 130
    assert "Traceback" not in result["stderr"]
    assert drops_by_group() == {"broadcast-group_send": 1, "job_events-49": 1}


def aged_line(now: datetime, age: timedelta, group: str) -> str:
    moment = now - age
    return (
        f"{moment:%Y-%m-%d %H:%M:%S},{moment.microsecond // 1000:03d}Z INFO     channels_redis.core "
        f"1 of 2 channels over capacity in group {group}\n"
    )


def purge_by_command():
    call_command("eventdebug", "purge", "--older-than", "1h", stdout=StringIO())


def purge_by_maintenance(settings):
    settings.EVENTDEBUG = {"RETENTION": "1h"}
    upkeep()


# Ingest, purge, ingest again: every record counted once, whatever purged and however the log
# comes back; the records whose fingerprints purge deleted are skipped, and the report says so.
# Each purge, and the fingerprints it deletes: the oldest 4 records (older than 1 h), or 1.
PURGES = {
    "command": (lambda settings: purge_by_command(), 4),
    "maintenance slot": (purge_by_maintenance, 4),
    "one batch of one": (lambda settings: purge_overflow(timedelta(hours=1), batch_size=1, max_batches=1), 1),
}
# Each way the log comes back, and how many of the oldest records it leaves out.
AGAIN = {
    "the same file": (lambda log, newer: log, 0),
    "a gzip copy": (lambda log, newer: gzip.compress(log.encode()), 0),
    "a rotation overlapping it": (lambda log, newer: "".join(log.splitlines(keepends=True)[2:]) + newer, 2),
}


def test_ingest_after_purge_counts_nothing_twice(tmp_path, settings):
    now = timezone.now()
    ages = [timedelta(hours=3), timedelta(hours=3) - timedelta(seconds=1), timedelta(hours=2)]
    ages += [timedelta(hours=2) - timedelta(seconds=1), timedelta(minutes=10), timedelta(minutes=9)]
    log = "".join(aged_line(now, age, f"job_events-{n}") for n, age in enumerate(ages))
    newer = aged_line(now, timedelta(minutes=5), "job_events-new") * 2
    for (purge_name, (purge, deleted)), (again_name, (again, left_out)) in itertools.product(
        PURGES.items(), AGAIN.items()
    ):
        case = (purge_name, again_name)
        for model in (ChannelOverflow, IngestedRecord, OverflowTotal, IngestHorizon):
            model.objects.all().delete()
        first = ingest(tmp_path, log)
        assert first["totals"]["new_records"] == 6 and first["purge_horizon"] is None, case
        purge(settings)
        rows_after_purge = set(ChannelOverflow.objects.values_list("group", "window_start", "drops"))
        second = ingest(tmp_path, again(log, newer))
        totals = second["totals"]
        fresh = 2 if again_name == "a rotation overlapping it" else 0
        assert totals["new_records"] == fresh, (case, totals)
        assert totals["too_old_records"] == max(0, deleted - left_out), (case, totals)
        assert second["purge_horizon"] is not None, case
        assert (
            totals["too_old_records"] + totals["duplicates"] + totals["new_records"] == totals["records"]
        ), (case, totals)
        assert sum(cumulative_drops(SOURCE_INGEST).values()) == 6 + fresh, case
        rows = set(ChannelOverflow.objects.values_list("group", "window_start", "drops"))
        assert {row for row in rows if row[0] != "job_events-new"} == rows_after_purge, case
        assert second["returncode"] == 0, case


@pytest.mark.django_db(transaction=True)
def test_a_purge_between_reading_the_horizon_and_inserting_counts_nothing_twice(tmp_path, monkeypatch):
    from awx_eventdebug.overflow import ingest as ingest_module

    now = timezone.now()
    log = aged_line(now, timedelta(hours=2), "job_events-1") * 3 + aged_line(
        now, timedelta(minutes=1), "job_events-2"
    )
    ingest(tmp_path, log)
    original = ingest_module._insert_fingerprints

    def purged_first(by_fingerprint):  # another process's purge commits just before the insert
        purge = threading.Thread(target=lambda: (purge_by_command(), connection.close()))
        purge.start()
        purge.join()
        return original(by_fingerprint)

    monkeypatch.setattr(ingest_module, "_insert_fingerprints", purged_first)
    again = ingest(tmp_path, log)
    assert again["purge_horizon"] is not None
    assert (
        again["totals"]["new_records"],
        again["totals"]["too_old_records"],
        again["totals"]["duplicates"],
    ) == (0, 3, 1)
    assert sum(cumulative_drops(SOURCE_INGEST).values()) == 4


def test_ingest_says_what_it_skipped_as_older_than_the_purge_horizon(tmp_path):
    now = timezone.now()
    log = aged_line(now, timedelta(hours=2), "job_events-1") * 3 + aged_line(
        now, timedelta(minutes=1), "job_events-2"
    )
    ingest(tmp_path, log)
    purge_by_command()
    path = tmp_path / "again.log"
    path.write_text(log)
    out = StringIO()
    call_command("eventdebug", "ingest", str(path), stdout=out)
    text = out.getvalue()
    assert "skipped 3 records logged at or before the purge horizon (" in text, text
    assert "so they are not counted again" in text

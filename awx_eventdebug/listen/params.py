"""The parameters of GET listen/gaps/ (the dashboard gauge's classification of its counter gaps),
validated once: ``kind``, ``job`` and ``missing``, the counters as ranges ("5-9,12"); and the job
``eventdebug listen --job`` listens to, validated by the same rule."""

from __future__ import annotations

from typing import Annotated, TypedDict

from rest_framework import serializers

from ..awx.jobs import existing_job
from ..awx.tables import KINDS, MAX_JOB_ID
from ..errors import NotFound, quoted
from ..fields import ChoiceField
from .gaps import CAUSES, gaps_report

# A query string under 4 KB passes every proxy in front of AWX (nginx's 8 KB header buffers).
MAX_MISSING_LENGTH = 4000
MAX_MISSING_RANGES = 500
MAX_MISSING_COUNTERS = 100_000


def parse_ranges(text: str) -> list[tuple[int, int]]:
    """ "5-9,12" -> [(5, 9), (12, 12)], sorted and merged; ValueError saying what is wrong."""
    ranges = []
    for part in text.split(","):
        first, dash, last = part.strip().partition("-")
        if not first.isdigit() or (dash and not last.isdigit()):
            raise ValueError(f"{quoted(part.strip())} is neither a counter nor a range such as 5-9")
        lo, hi = int(first), int(last) if dash else int(first)
        if not 1 <= lo <= hi <= MAX_JOB_ID:
            raise ValueError(f"{quoted(part.strip())} is not a range of counters from 1 up, low to high")
        ranges.append((lo, hi))
    if len(ranges) > MAX_MISSING_RANGES:
        raise ValueError(f"at most {MAX_MISSING_RANGES} ranges, got {len(ranges)}")
    # Each counter becomes a row of the classifying statement: bound the rows one request makes.
    counters = sum(hi - lo + 1 for lo, hi in ranges)
    if counters > MAX_MISSING_COUNTERS:
        raise ValueError(f"at most {MAX_MISSING_COUNTERS:,} counters, got {counters:,}")
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


class JobQuerySerializer(serializers.Serializer):
    """``kind`` and ``job``, a job of that kind that exists (awx/jobs.py find_job, lag's rule for
    its job): refused naming ``job`` otherwise, so that nobody waits on a job that is not there."""

    kind = ChoiceField(choices=list(KINDS), default="job", help_text="Which event table.")
    job = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_JOB_ID, help_text="The job to listen to."
    )

    def validate(self, attrs):
        if attrs.get("job") is not None:
            try:
                existing_job(attrs["job"], attrs["kind"])
            except NotFound as exc:
                raise serializers.ValidationError({"job": [str(exc)]}) from exc
        return attrs


class GapsQuerySerializer(JobQuerySerializer):
    job = serializers.IntegerField(
        min_value=1, max_value=MAX_JOB_ID, help_text="The job whose counters are missing."
    )
    missing = serializers.CharField(
        max_length=MAX_MISSING_LENGTH,
        help_text=f"The missing counters: comma-separated counters and ranges, e.g. 5-9,12; "
        f"at most {MAX_MISSING_RANGES} ranges.",
    )

    def validate_missing(self, value):
        try:
            return parse_ranges(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc


# The missing counters of each cause (listen/gaps.py, docs/listen.md).
CauseCounters = TypedDict(
    "CauseCounters", dict.fromkeys(CAUSES, Annotated[int, "Missing counters. Unit: counters (a count)."])
)


class AwxSending(TypedDict):
    """AWX's settings that decide which events it sends over the websocket."""

    max_websocket_events_per_second: int
    ui_live_updates_enabled: bool


class GapsDocument(TypedDict):
    """Why a websocket client is missing counters of a job's events: only ``lost`` is a loss."""

    kind: str
    job: int
    missing_counters: int
    cause_counters: CauseCounters
    lost_counters: Annotated[int, "Stored in time and sent, yet not received."]
    awx: AwxSending


def gaps_document(query: dict) -> GapsDocument:
    """The document of GET listen/gaps/ for a query validated by GapsQuerySerializer."""
    return gaps_report(**query)

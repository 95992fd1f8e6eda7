"""The critical path: its hops in order, one line each (as django-debug-toolbar lists its panels).

A hop's number is its place in this list. Adding a hop is a module of path/hops/ and a line
here: the sampler reads its share of each node, the health snapshot judges it, and check, path,
report, metrics, the dashboard and the settings (its thresholds as CHECK_* options) show it.
"""

from __future__ import annotations

import threading
from functools import cache

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .. import conf
from .hop import Hop, Threshold

HOPS = [
    "awx_eventdebug.path.hops.callback.Callback",
    "awx_eventdebug.path.hops.receptor.Receptor",
    "awx_eventdebug.path.hops.callback_queue.CallbackQueue",
    "awx_eventdebug.path.hops.receiver.Receiver",
    "awx_eventdebug.path.hops.receiver_buffer.ReceiverBuffer",
    "awx_eventdebug.path.hops.event_insert.EventInsert",
    "awx_eventdebug.path.hops.group_send.GroupSend",
    "awx_eventdebug.path.hops.wsrelay.Wsrelay",
    "awx_eventdebug.path.hops.channel_layer.ChannelLayer",
]


_declared: tuple[str, ...] | None = None
_declaring = threading.Lock()


def hops() -> tuple[Hop, ...]:
    """The hops in path order, loaded from HOPS (again after a change of HOPS: tests)."""
    global _declared
    paths = tuple(HOPS)
    loaded = _load(paths)
    if paths != _declared:
        with _declaring:  # AppConfig.ready() loads them first; a test may change HOPS later
            if paths != _declared:
                # Each threshold is a setting: conf.OPTIONS holds those of these hops.
                options = {t.setting: threshold_option(t) for t in thresholds_of(loaded)}
                conf.declare_options("thresholds", options)
                _declared = paths
    return loaded


@cache
def _load(paths: tuple[str, ...]) -> tuple[Hop, ...]:
    loaded = tuple(import_string(path)() for path in paths)
    validate(loaded)
    return loaded


def validate(loaded: tuple[Hop, ...]) -> None:
    """Two hops never share what the others find them by: a key, a threshold, a snapshot's key, a
    cluster-wide read or a metric; each threshold names its figure and unit (the keys of its
    JSON fields); ``inside`` names a hop of the path."""
    keys = {hop.key for hop in loaded}
    shared = {
        "key": [hop.key for hop in loaded],
        "threshold": [t.name for t in thresholds_of(loaded)],
        "metric": [t.metric for t in thresholds_of(loaded)],
        "snapshot_key": [hop.snapshot_key for hop in loaded if hop.snapshot_key],
        "cluster_read": [hop.cluster_read for hop in loaded if hop.cluster_read],
    }
    for what, names in shared.items():
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ImproperlyConfigured(f"hops of awx_eventdebug.path.registry.HOPS share a {what}: {twice}")
    for t in thresholds_of(loaded):
        if not t.figure or not t.unit_name:
            raise ImproperlyConfigured(f"threshold {t.name} names no figure, or no unit (unit or counts)")
    for hop in loaded:
        if hop.inside and hop.inside not in keys:
            raise ImproperlyConfigured(f"hop {hop.key} is inside {hop.inside!r}, which is no hop of the path")


def thresholds_of(loaded) -> list[Threshold]:
    return [threshold for hop in loaded for threshold in hop.thresholds]


def thresholds() -> list[Threshold]:
    """Every threshold of the check, in path order."""
    return thresholds_of(hops())


def threshold_option(threshold: Threshold) -> conf.Option:
    """The CHECK_* option of a threshold: a count or a number of seconds or percent, from 0 to its
    maximum, written as the threshold shows its values (10,000 / 10 s / 80%)."""
    return conf.Option(
        threshold.default,
        (int,) if threshold.is_count else conf.NUMBER,
        f"{threshold.help}: `eventdebug check` fails above it.",
        minimum=0,
        maximum=threshold.maximum,
        shown=threshold.shown,
    )

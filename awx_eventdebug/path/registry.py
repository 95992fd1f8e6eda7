"""The critical path: its hops in order, one line each (as django-debug-toolbar lists its panels).

A hop's number is its place in this list. Adding a hop is a module of path/hops/ and a line
here: the sampler reads its share of each node, the health snapshot judges it, and check, path,
report, metrics, the dashboard and the settings (its thresholds as CHECK_* options) show it.
"""

from __future__ import annotations

from functools import cache

from django.utils.module_loading import import_string

from .. import conf
from .hop import Hop, Threshold

HOPS = [
    "awx_eventdebug.path.hops.callback.Callback",
    "awx_eventdebug.path.hops.receptor.Receptor",
    "awx_eventdebug.path.hops.callback_queue.CallbackQueue",
    "awx_eventdebug.path.hops.receiver.Receiver",
    "awx_eventdebug.path.hops.group_send.GroupSend",
    "awx_eventdebug.path.hops.wsrelay.Wsrelay",
    "awx_eventdebug.path.hops.channel_layer.ChannelLayer",
]


_declared: tuple[str, ...] | None = None


def hops() -> tuple[Hop, ...]:
    """The hops in path order, loaded from HOPS (again after a change of HOPS)."""
    global _declared
    paths = tuple(HOPS)
    loaded = _load(paths)
    if paths != _declared:
        # Each threshold is a setting: the settings' table (conf.OPTIONS) holds those of these hops.
        conf.declare_options("thresholds", {t.setting: threshold_option(t) for t in thresholds_of(loaded)})
        _declared = paths
    return loaded


@cache
def _load(paths: tuple[str, ...]) -> tuple[Hop, ...]:
    loaded = tuple(import_string(path)() for path in paths)
    keys = [hop.key for hop in loaded]
    if len(set(keys)) != len(keys):
        raise ValueError(f"two hops share a key: {keys}")
    return loaded


def thresholds_of(loaded) -> list[Threshold]:
    return [threshold for hop in loaded for threshold in hop.thresholds]


def thresholds() -> list[Threshold]:
    """Every threshold of the check, in path order."""
    return thresholds_of(hops())


def number(key: str) -> int:
    """The place of hop ``key`` on the path, from 1."""
    return next(i for i, hop in enumerate(hops(), 1) if hop.key == key)


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

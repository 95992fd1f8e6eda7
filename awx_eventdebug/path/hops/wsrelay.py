"""Hop 8: wsrelay, which forwards each websocket message to every other web node.

wsrelay writes its per-remote-node statistics every few seconds to its node's Redis, under the
key BROADCAST_WEBSOCKET_REDIS_KEY_NAME, as the Prometheus text of one registry per remote node
(awx/main/analytics/broadcast_websocket.py, RelayWebsocketStats): ``awx_<remote>_connection``
(an Enum, disconnected or connected), ``_connection_start`` (epoch seconds),
``_messages_received_total``, ``_messages_received_currrent_conn`` (AWX's spelling) and
``_messages_received_per_minute``, where <remote> is the remote hostname with every run of
other characters than letters and digits replaced by "_" (its ``safe_name``). ``awx-manage
run_wsrelay --status`` reads the same key.
"""

from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families

from ...channels.redis_read import is_reply
from ...errors import first_line
from ...timeutil import isoformat, utc_from_epoch
from ..causes import RELAY_DOWN
from ..hop import NOT_APPLICABLE, OK, OVER, UNKNOWN, Hop, Judgment, NodeContext, Threshold
from ..node import WEB_ROLES

STATS_KEY = "broadcast_websocket_stats"
# A relay of a few dozen nodes writes a few kilobytes; more is not wsrelay's key.
STATS_MAX_BYTES = 1024 * 1024
CONNECTED = "connected"

# Sample name suffix -> figure, longest first: "_connection" ends "_connection_start" too.
SUFFIXES = (
    ("_messages_received_per_minute", "messages_per_minute"),
    ("_messages_received_currrent_conn", "messages_current_connection"),
    ("_messages_received_total", "messages_total"),
    ("_connection_start", "since"),
    ("_connection", "state"),
)


def safe_name(hostname: str) -> str:
    """wsrelay's name of a remote node in its metric names."""
    return re.sub("[^0-9a-zA-Z]+", "_", hostname)


def parse_stats(text: str) -> dict[str, dict]:
    """Remote safe name -> its figures, from the stats key's text. ValueError when the text is
    not Prometheus text."""
    remotes: dict[str, dict] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name = sample.name
            if not name.startswith("awx_"):
                continue
            for suffix, figure in SUFFIXES:
                if name.endswith(suffix) and len(name) > len("awx_") + len(suffix):
                    remote = remotes.setdefault(name[len("awx_") : -len(suffix)], {})
                    if figure == "state":
                        if sample.value >= 1:  # the Enum's sample of the state it is in
                            remote["state"] = sample.labels.get(name, "unknown")
                    else:
                        remote[figure] = sample.value
                    break
    return remotes


def relay_figures(raw: bytes | None, hostnames: list[str], role: str | None) -> dict:
    """The relay's connections as the stats key shows them; ``hostnames`` name the remotes
    (AWX's instances), ``role`` explains an absent key."""
    doc = {"present": raw is not None, "error": "", "note": "", "remotes": [], "down_connections": 0}
    if raw is None:
        if role is not None and role not in WEB_ROLES:
            doc["note"] = f"no wsrelay on this node: its role is {role} (no web service)"
        else:
            role_text = f" (role {role})" if role else ""
            doc["note"] = f"no {STATS_KEY} key: wsrelay is not running on this node{role_text}"
        return doc
    if len(raw) > STATS_MAX_BYTES:
        doc["error"] = f"the {STATS_KEY} key holds {len(raw)} bytes, over {STATS_MAX_BYTES}: not parsed"
        return doc
    try:
        remotes = parse_stats(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, IndexError, KeyError) as exc:
        doc["error"] = f"the {STATS_KEY} key is not wsrelay's Prometheus text ({type(exc).__name__}: {exc})"
        return doc
    names = {safe_name(host): host for host in hostnames}
    for remote, figures in sorted(remotes.items()):
        state = figures.get("state", "unknown")
        since = figures.get("since")
        doc["remotes"].append(
            {
                "host": names.get(remote, remote),
                "state": state,
                "since": isoformat(utc_from_epoch(since)) if since and state == CONNECTED else None,
                "messages_total": _count(figures.get("messages_total")),
                "messages_current_connection": _count(figures.get("messages_current_connection")),
                "messages_per_minute": _count(figures.get("messages_per_minute")),
            }
        )
    doc["down_connections"] = sum(1 for remote in doc["remotes"] if remote["state"] != CONNECTED)
    return doc


def _count(value: float | None) -> int | None:
    return None if value is None else int(value)


def down_line(node: str, relay: dict) -> str:
    """How the headline names a relay with connections down."""
    down = [f"{r['host']} ({r['state']})" for r in relay["remotes"] if r["state"] != CONNECTED]
    noun = "connection" if len(down) == 1 else "connections"
    return f"wsrelay on {node} has {len(down)} {noun} down: to {', '.join(down)}"


class Wsrelay(Hop):
    key = "wsrelay"
    label = "wsrelay"
    what = "forwarded to the other web nodes"
    snapshot_key = "relay"
    causes = (RELAY_DOWN,)
    thresholds = (
        Threshold(
            "max_relay_down",
            0,
            "wsrelay connections to other web nodes down on any node",
            "wsrelay connections down",
            metric_help="The node's wsrelay connections to other web nodes that are not connected.",
            metric="relay_connections_down",
            figure="relay_down",
            counts="connections",
        ),
    )

    def pipeline(self, pipe, context: NodeContext) -> None:
        pipe.get(STATS_KEY)

    def from_replies(self, replies: list, broker: str, context: NodeContext) -> dict:
        (stats,) = replies
        if not is_reply(stats):
            return {"error": f"{STATS_KEY} on redis {broker}: {first_line(stats)}"}
        return relay_figures(stats, context.peers, context.role)

    def judge_node(self, node: str, figures: dict, limits: dict, cluster) -> Judgment:
        most = limits["max_relay_down"]
        if figures.get("error"):
            return Judgment(UNKNOWN, figures["error"])
        if not figures["present"]:
            return Judgment(NOT_APPLICABLE, figures["note"])
        down = figures["down_connections"]
        over = down > most
        line = down_line(node, figures) if over else ""
        return Judgment(
            OVER if over else OK,
            f"{down} of {len(figures['remotes'])} connections down",
            down,
            line,
            failures=[f"{line}, above the maximum {self.thresholds[0].shown(most)}"] if over else [],
            figures={"max_relay_down": down},
        )

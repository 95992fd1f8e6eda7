"""What AWX sends through the channel layer to websocket groups, and the names it uses.

Read from AWX's awx/main/consumers.py (``emit_channel_notification``, ``EventConsumer``,
``RelayConsumer``), awx/main/wsrelay.py and awx/main/models/events.py (``emit_event_detail``),
before and after AWX 22 introduced the wsrelay.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from django.conf import settings

from ..errors import quoted
from .tables import KINDS

# channels' rule for group names (BaseChannelLayer.group_name_regex, MAX_NAME_LENGTH).
GROUP_NAME = re.compile(r"^[a-zA-Z\d\-_.]+$")
GROUP_NAME_MAX = 100

AWX_MESSAGE_TYPE = "internal.message"
KIND_BY_GROUP_PREFIX = {kind.group_prefix: name for name, kind in KINDS.items()}
# The families of groups AWX names "<family>-<job id or topic>": a label value that stays bounded
# where group names grow with every job. Any other group counts as OTHER_GROUP_KIND.
GROUP_KINDS = (*KIND_BY_GROUP_PREFIX, "workflow_events", "jobs", "schedules", "control", "broadcast")
OTHER_GROUP_KIND = "other"


def group_kind(group: str) -> str:
    """A group's family: ``job_events-42`` -> ``job_events``, OTHER_GROUP_KIND for any other."""
    return next((kind for kind in GROUP_KINDS if group.startswith(f"{kind}-")), OTHER_GROUP_KIND)


def broadcast_group() -> str:
    """AWX's BROADCAST_WEBSOCKET_GROUP_NAME, where web nodes' relay consumers listen."""
    return getattr(settings, "BROADCAST_WEBSOCKET_GROUP_NAME", "broadcast-group_send")


def relay_message(action: str, groups: list[str], channel: str) -> dict:
    """What AWX 22+'s EventConsumer sends to the broadcast group when a browser subscribes to
    (``consumer.subscribe``) or leaves (``consumer.unsubscribe``) groups: the relay on the task
    node then starts (or stops) forwarding those groups' messages to this web node."""
    return {"type": f"consumer.{action}", "groups": groups, "origin_channel": channel}


def group_names(job: int | None, kind: str, groups: list[str] | None = None) -> list[str]:
    """The groups to join: ``groups`` when given, else the websocket group of ``kind`` ``job``.
    ValueError for a name channels would refuse (it asserts, which would be a traceback)."""
    if not groups:
        if job is None:
            raise ValueError("listen needs a job (--job N) or a group (--group NAME).")
        groups = [KINDS[kind].group_name(job)]
    for group in groups:
        if len(group) >= GROUP_NAME_MAX or not GROUP_NAME.match(group):
            raise ValueError(
                f"{quoted(group)} is not a group name: ASCII letters, digits, '-', '_' and '.', "
                f"fewer than {GROUP_NAME_MAX} characters."
            )
    return list(dict.fromkeys(groups))


def awx_payload(message: dict) -> tuple[dict | None, str, str]:
    """(payload, stream, why-not) of one layer message in AWX's shape.

    AWX's ``emit_channel_notification`` sends ``{"type": "internal.message", "text": <JSON>}``
    to the job's group (plus ``"needs_relay": True`` since AWX 22's wsrelay; the copy a web node
    re-sends after the relay lacks it). Before AWX 22 the same text also went to
    ``broadcast-group_send`` wrapped as ``{"group": <group>, "message": <JSON>}``; that wrapping
    is undone here. ``stream`` names the job whose counters the payload continues.
    """
    text = message.get("text")
    if message.get("type") != AWX_MESSAGE_TYPE or not isinstance(text, str):
        return None, "", "not_awx"
    try:
        payload = json.loads(text)
        wrapped_group = ""
        if isinstance(payload, dict) and payload.keys() == {"group", "message"}:
            wrapped_group = str(payload["group"])
            payload = json.loads(payload["message"])
    except (ValueError, TypeError):
        return None, "", "undecodable"
    if not isinstance(payload, dict):
        return None, "", "undecodable"
    kind = KIND_BY_GROUP_PREFIX.get(payload.get("group_name"))
    if kind is not None and kind in payload:
        stream = f"{payload['group_name']}-{payload[kind]}"
    else:
        stream = wrapped_group
    return payload, stream, ""


def parse_created(value) -> float | None:
    """Epoch seconds of an ISO 8601 ``created`` (naive means UTC, as AWX stores UTC)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()

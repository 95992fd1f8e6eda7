"""Hop 1: on the execution node, AWX's callback plugin makes each Ansible result an event and
stamps its ``created`` (that node's clock)."""

from ..hop import Hop


class Callback(Hop):
    key = "callback"
    label = "callback"
    what = "the Ansible callback stamps created (execution node)"
    inside = "receiver"

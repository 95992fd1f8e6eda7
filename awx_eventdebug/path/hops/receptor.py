"""Hop 2: receptor carries the event from the execution node to the controller, where
ansible-runner hands it to AWX's RunnerCallback."""

from ..hop import Hop


class Receptor(Hop):
    key = "receptor"
    label = "receptor"
    what = "receptor carries the event to the controller"
    inside = "receiver"

import json
from datetime import UTC, datetime

from awx_eventdebug.awx.messages import awx_payload, group_names, parse_created
from example_settings.awxschema.emit import event_payload, layer_message

T0 = datetime(2024, 1, 1, 0, 0, 0, 250000, tzinfo=UTC)


def test_group_names():
    assert group_names(42, "job") == ["job_events-42"]
    assert group_names(7, "inventory_update") == ["inventory_update_events-7"]
    assert group_names(None, "job", ["broadcast-group_send", "broadcast-group_send"]) == [
        "broadcast-group_send"
    ]


def test_awx_payload_shapes():
    payload = event_payload("job", 42, 3, T0)
    # AWX 22+ on the task node (needs_relay), and on a web node after the relay (without it).
    for message in (layer_message(payload), layer_message(payload, needs_relay=False)):
        assert awx_payload(message) == (payload, "job_events-42", "")
    # AWX < 22 also wrapped every event for broadcast-group_send.
    wrapped = {
        "type": "internal.message",
        "text": json.dumps({"group": "job_events-42", "message": json.dumps(payload)}),
    }
    assert awx_payload(wrapped) == (payload, "job_events-42", "")
    control = {"type": "consumer.subscribe", "groups": ["job_events-42"], "origin_channel": "specific.x!y"}
    assert awx_payload(control) == (None, "", "not_awx")
    assert awx_payload({"type": "internal.message", "text": "{not json"}) == (None, "", "undecodable")
    assert awx_payload({"type": "internal.message", "text": "[1]"}) == (None, "", "undecodable")


def test_parse_created():
    epoch = T0.timestamp()
    assert parse_created("2024-01-01T00:00:00.250000+00:00") == epoch
    assert parse_created("2024-01-01T00:00:00.25Z") == epoch
    assert parse_created("2024-01-01T00:00:00.250000") == epoch  # naive: UTC, as AWX stores
    assert parse_created("2024-01-01T02:00:00.250000+02:00") == epoch
    assert parse_created("yesterday") is None
    assert parse_created(None) is None

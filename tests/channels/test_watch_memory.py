"""watch keeps, per sample, each queue's figures and each group's member names, not a document
of every member: its peak memory per sample stays a small multiple of the names read."""

import tracemalloc

from awx_eventdebug.channels.watch import watch_samples
from tests.conftest import REDIS_URL
from tests.support.channel_layers import layer_config, use_layer

MEMBERS = 20_000
# Bytes of peak allocation allowed per member read: its name as Redis replied and as text, the
# membership set kept for the next sample's diff, and the per-queue counting.
BYTES_PER_MEMBER = 320  # a document of every member (before) peaked at 374


def test_peak_memory_per_sample_is_bounded_by_the_names_read(settings, key_prefix, redis_client):
    use_layer(settings, layer_config([REDIS_URL], key_prefix))
    for group in range(10):
        # As AWX's websockets: many channels, each process's sharing its one queue.
        names = {f"specific.proc{n % 50:02d}!{group:02d}{n:030x}": 1e12 for n in range(MEMBERS // 10)}
        redis_client.zadd(f"{key_prefix}:group:job_events-{group}", names)
    samples = watch_samples(pattern="job_events-*", count=1)
    tracemalloc.start()
    try:
        sample = next(samples)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sample["summary"]["members"] == MEMBERS
    assert peak < MEMBERS * BYTES_PER_MEMBER, f"{peak / MEMBERS:.0f} bytes per member"

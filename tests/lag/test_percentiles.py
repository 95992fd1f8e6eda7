from awx_eventdebug.lag.percentiles import percentile_key
from awx_eventdebug.percentiles import parse_percentiles


def test_one_key_per_percentile_however_spelled():
    assert [percentile_key(p) for p in parse_percentiles(["99.9", "50", "1e1", "0.0001", "75.00"])] == [
        "p0.0001",
        "p10",
        "p50",
        "p75",
        "p99.9",
    ]

from decimal import Decimal

import pytest

from awx_eventdebug.lag.percentiles import parse_percentiles, percentile_key


def test_parse_percentiles():
    assert [percentile_key(p) for p in parse_percentiles(["99.9", "50", "1e1", "0.0001"])] == [
        "p0.0001",
        "p10",
        "p50",
        "p99.9",
    ]
    assert parse_percentiles((50, 99.5)) == (Decimal(50), Decimal("99.5"))
    for values, message in [
        ([], "at least one"),
        (["50"] * 11, "at most 10"),
        (["nan"], "not a number"),
        (["inf"], "not a number"),
        (["1e309"], "between 0 and 100"),
        (["0"], "between 0 and 100"),
        (["100"], "between 0 and 100"),
        (["50", "50.0"], "given twice"),
        (["12.34567"], "more than 4 decimals"),
        ([True], "not a number"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_percentiles(values)

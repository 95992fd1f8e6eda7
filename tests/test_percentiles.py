from decimal import Decimal

import pytest

from awx_eventdebug.percentiles import parse_percentiles


def test_percentiles_are_sorted_exact_decimals():
    assert parse_percentiles((50, 99.5)) == (Decimal(50), Decimal("99.5"))
    assert parse_percentiles(["99.9", "50", "0.0001"]) == (Decimal("0.0001"), Decimal(50), Decimal("99.9"))


@pytest.mark.parametrize(
    "values, message",
    [
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
    ],
)
def test_a_bad_percentile_says_what_is_wrong(values, message):
    with pytest.raises(ValueError, match=message):
        parse_percentiles(values)

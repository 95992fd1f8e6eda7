import pytest

from awx_eventdebug.lag.query import GROUP_BY, LagQuery


def test_lag_query_hint_leaves_out_what_is_narrowed_already():
    assert (
        LagQuery(job=1, kind="system_job").narrow_hint()
        == "Narrow the query: a shorter window (since/until)."
    )


@pytest.mark.parametrize("vendor", ["postgres", "sqlite"])
def test_every_grouping_has_sql_on_both_databases(vendor):
    assert GROUP_BY == ("none", "event", "job", "minute", "hour")
    expressions = {by: LagQuery(kind="project_update", by=by).group_expression(vendor) for by in GROUP_BY}
    assert expressions["job"] == "project_update_id"
    assert expressions["event"] == "event"
    assert expressions["none"].startswith("NULL")

import re

import pytest

from awx_eventdebug.awx.tables import KINDS
from awx_eventdebug.lag.query import GROUP_BY, GROUPINGS, LagQuery, lag_rows
from awx_eventdebug.lag.sources import Source


def test_lag_query_hint_leaves_out_what_is_narrowed_already():
    assert (
        LagQuery(job=1, kind="system_job").narrow_hint()
        == "Narrow the query: a shorter window (since/until)."
    )


@pytest.mark.parametrize("vendor", ["postgres", "sqlite"])
def test_every_grouping_has_sql_on_both_databases(vendor):
    assert GROUP_BY == ("none", "event", "job", "minute", "hour", "execution_node", "controller_node")
    kind = KINDS["project_update"]
    rows = {
        by: lag_rows(kind, LagQuery(kind=kind.name, by=by), [Source(kind.table)], "0", vendor)[0]
        for by in GROUP_BY
    }
    assert rows["job"].startswith("SELECT project_update_id AS grp")
    assert rows["event"].startswith("SELECT event AS grp")
    assert rows["none"].startswith("SELECT NULL")
    # A node is a column of the event's job, read from AWX's unified job table.
    for by in ("execution_node", "controller_node"):
        assert "SELECT project_update_id AS grp" in rows[by] and re.search(
            rf"{by} FROM main_unifiedjob\s+WHERE id", rows[by]
        )


def test_jobs_and_nodes_come_worst_first_the_others_by_key():
    assert [by for by, grouping in GROUPINGS.items() if grouping.worst_first] == [
        "job",
        "execution_node",
        "controller_node",
    ]

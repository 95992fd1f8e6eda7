import pytest

from tests.support.workloads import small_workload


@pytest.fixture
def workload():
    """Job events over several partitions, some without created and some stored before it."""
    return small_workload(kinds=("job",), jobs=6, events=120, missing_created=0.03, negative=0.03)

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from tests.support.workloads import small_workload


@pytest.fixture
def workload():
    """Job events over several partitions, some without created and some stored before it."""
    return small_workload(kinds=("job",), jobs=6, events=120, missing_created=0.03, negative=0.03)


@pytest.fixture
def admin():
    """An API client logged in as a superuser."""
    client = APIClient()
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    return client

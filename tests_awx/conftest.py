"""The real-AWX tier: this pytest process is one more AWX process (AWX's settings, models and
Redis, the app installed from its wheel), next to AWX's callback receiver, uwsgi and daphne that
scripts/awx-tier/box.sh started. One AWX per run; its objects and jobs are made once per session
and shared by every test."""

from __future__ import annotations

import os

import pytest


def pytest_configure(config):
    if "AWX_TIER_BOX" not in os.environ:
        pytest.exit(
            "tests_awx runs inside a real AWX: `make test-awx` (scripts/awx-tier/run.sh)", returncode=4
        )
    import django
    from awx import prepare_env

    prepare_env()
    django.setup()


@pytest.fixture(scope="session")
def awx_objects():
    import awx_jobs

    awx_jobs.create_objects()


@pytest.fixture(scope="session")
def users(awx_objects):
    """(username, password) pairs: a superuser, a plain organization member, a system auditor."""
    from awx_jobs import PASSWORDS

    return {name: (name, password) for name, password in PASSWORDS.items()}


@pytest.fixture(scope="session")
def jobs(awx_objects):
    """One finished job of each kind, its events all written by AWX's callback receiver: a
    playbook job, an ad hoc command, a project update, an inventory update, a system job."""
    import awx_jobs

    finished = {kind: awx_jobs.run(awx_jobs.create(kind), items=120) for kind in awx_jobs.CALLBACKS}
    finished["system_job"] = awx_jobs.run_system_job()
    for job in finished.values():
        assert job.status == "successful", (
            f"{awx_jobs.kind_of(job)} {job.id}: {job.status} {job.job_explanation}"
        )
        awx_jobs.wait_for_events(job)
    return finished

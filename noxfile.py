"""Test sessions: the suite on both version sets, each on SQLite and on PostgreSQL; lint; the
built package installed alone into a clean virtualenv."""

import os
import tempfile
from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests", "package"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"

# AWX's own pins (requirements/requirements.txt, late 2024), and whatever is newest.
VERSION_SETS = {
    "awx": [
        "Django~=4.2.16",
        "channels==3.0.5",
        "channels-redis==4.2.0",
        "djangorestframework==3.15.1",
        "redis==5.0.1",
        # redis-py parses with it when installed: this set reads Redis through hiredis, "latest"
        # through redis-py's own parser. Not a runtime requirement (not every AWX ships it).
        "hiredis==2.0.0",
        "psycopg[binary]~=3.1.18",
        "prometheus-client==0.20.0",
    ],
    "latest": [
        "Django",
        "channels",
        "channels-redis",
        "djangorestframework",
        "redis",
        "psycopg[binary]",
        "prometheus-client",
    ],
}
TEST_REQUIREMENTS = ["pytest", "pytest-django", "numpy"]
# DRF's OpenAPI SchemaGenerator needs uritemplate and, on DRF 3.15, inflection (schema test).
TEST_REQUIREMENTS += ["uritemplate", "inflection"]
# The dashboard's browser tests: Selenium drives Debian's Chromium; daphne serves the example
# project (channels 3 depends on it already, channels 4 does not).
TEST_REQUIREMENTS += ["selenium", "daphne"]
DATABASES = ("sqlite", "postgres")


@nox.session(python=PYTHON)
@nox.parametrize("versions", list(VERSION_SETS))
def tests(session, versions):
    session.install("--upgrade", *VERSION_SETS[versions], *TEST_REQUIREMENTS)
    session.install("--no-deps", "-e", ".")
    session.run("python", "-m", "pip", "freeze", silent=False)
    for database in DATABASES:
        env = {
            "EVENTDEBUG_DATABASE": database,
            # A database of this version set's own, so the two sets never share test state.
            "PGDATABASE": f"awx_eventdebug_{versions}",
        }
        session.run("pytest", *session.posargs, env=env)


@nox.session(python=PYTHON)
def lint(session):
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def package(session):
    """Build, twine check, then install the wheel (runtime dependencies only) in a fresh venv
    and run `manage.py check` in a project that adds the app to INSTALLED_APPS."""
    session.install("build", "twine")
    dist = Path(tempfile.mkdtemp(prefix="awx-eventdebug-dist-"))
    session.run("python", "-m", "build", "--outdir", str(dist))
    session.run("twine", "check", "--strict", *[str(p) for p in dist.iterdir()])
    wheel = next(dist.glob("*.whl"))
    clean = Path(tempfile.mkdtemp(prefix="awx-eventdebug-clean-"))
    session.run("python", "-m", "venv", str(clean / "venv"))
    pip = str(clean / "venv" / "bin" / "pip")
    session.run(pip, "install", "--quiet", str(wheel), external=True)
    session.run(
        str(clean / "venv" / "bin" / "python"), "scripts/check_installed_wheel.py", str(clean), external=True
    )


if os.environ.get("CI"):
    nox.options.error_on_missing_interpreters = True

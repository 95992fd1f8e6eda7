"""make serve keeps the demo database between starts and runs the demo only without one; the
port is a variable; make dist builds with nox's dist session. Checked with make's dry run (-n),
which runs nothing but nested makes."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def dry_run(*args) -> str:
    if shutil.which("make") is None:
        pytest.fail("make is missing")
    # An existing VENV (this interpreter's) so the dry run does not plan the virtualenv build.
    venv = Path(sys.executable).parent.parent
    done = subprocess.run(
        ["make", "-n", f"VENV={venv}", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_serve_keeps_an_existing_database(tmp_path):
    database = tmp_path / "db.sqlite3"
    database.write_bytes(b"")
    out = dry_run("serve", f"DB={database}", "PORT=8123")
    assert "rm -f" not in out and "seed_awx_events" not in out
    assert "-p 8123 " in out


def test_serve_runs_the_demo_without_one_and_reset_starts_afresh(tmp_path):
    database = tmp_path / "db.sqlite3"
    for target in ("serve", "reset"):
        out = dry_run(target, f"DB={database}")
        assert f"rm -f {database}" in out and "seed_awx_events" in out and "createsuperuser" in out


def test_dist_builds_with_the_nox_session_the_install_tests_share(tmp_path):
    assert "nox -s dist -- dist\n" in dry_run("dist")
    assert f"nox -s dist -- {tmp_path}\n" in dry_run("dist", f"DIST={tmp_path}")

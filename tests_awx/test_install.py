"""Installing the app into AWX's venv changes nothing AWX installed, `migrate` leaves nothing for
AWX's wait-for-migrations to wait on, and `collectstatic` gathers the dashboard's files."""

import json
import subprocess
from pathlib import Path

from awx_box import VENV, WHEEL, awx_manage
from django.conf import settings


def pip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV / "bin" / "pip"), *args], capture_output=True, text=True, timeout=300)


def test_pip_install_would_add_the_app_and_nothing_else():
    done = pip("install", "--dry-run", "--quiet", "--report", "-", str(WHEEL))
    assert done.returncode == 0, done.stderr[-2000:]
    # The app itself is listed only when it is not installed already (box.sh installed it).
    would_install = [
        f"{item['metadata']['name']} {item['metadata']['version']}"
        for item in json.loads(done.stdout)["install"]
    ]
    assert [name for name in would_install if not name.startswith("awx-eventdebug ")] == []


def test_pip_check_is_clean_with_the_app_installed():
    done = pip("check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_migrate_left_no_migration_unapplied():
    # What AWX's containers run before starting (wait-for-migrations loops on it).
    done = awx_manage("migrate", "--check")
    assert done.returncode == 0, done.stdout + done.stderr
    shown = awx_manage("showmigrations", "awx_eventdebug")
    assert shown.returncode == 0, shown.stderr
    applied = [line for line in shown.stdout.splitlines() if line.strip().startswith("[")]
    assert applied and all(line.strip().startswith("[X]") for line in applied), shown.stdout


def test_collectstatic_gathers_the_dashboard_files():
    done = awx_manage("collectstatic", "--noinput")
    assert done.returncode == 0, done.stdout + done.stderr
    collected = Path(settings.STATIC_ROOT) / "awx_eventdebug"
    assert (collected / "dashboard.js").is_file(), sorted(p.name for p in collected.glob("*"))

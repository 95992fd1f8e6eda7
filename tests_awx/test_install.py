"""Installing the app into AWX's venv changes nothing AWX installed, `migrate` leaves nothing for
AWX's wait-for-migrations to wait on, and `collectstatic` gathers the dashboard's files.

Each of the README's ways to install (PyPI, a wheel, a release tag) and the Containerfile's
install step are run as written, with the wheel `make dist` built for this run, against AWX's
venv and with the pip AWX's image has there (21.2.4, no --dry-run: AWX's requirements.txt pins
it; box.sh's venv keeps a newer one, so AWX's runs from its wheel with the venv's Python). AWX's
paths and /tmp/ are this box's, a local index of the wheel stands in for PyPI (nothing is
published before a release), and a clone of this checkout, tagged and served over HTTP, for the
repository. Each must plan the app alone, as the README's comment says, then install it; the
tests leave the app installed from the wheel, as box.sh did."""

import http.server
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest
from awx_box import VENV, WHEEL, awx_manage
from django.conf import settings

PROJECT = Path(__file__).resolve().parents[1]
AWX_VENV = "/var/lib/awx/venv/awx"
PLAN = re.compile(r"^Would install .*$", re.MULTILINE)


def pip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV / "bin" / "pip"), *args], capture_output=True, text=True, timeout=300)


def readme_install_ways() -> tuple[list[str], dict[str, list[str]]]:
    """The README's install commands: the lines making the dry runs' throwaway venv, and by way
    (PyPI, wheel, git tag) the lines up to AWX's pip installing the app."""
    readme = (PROJECT / "README.md").read_text()
    step = readme.split("### On a VM or a container you build yourself", 1)[1].split("\n**2.**", 1)[0]
    lines = [line for block in re.findall(r"```sh\n(.*?)```", step, re.S) for line in block.splitlines()]
    setup = [line for line in lines if " -m venv " in line]
    ways, pending = {}, []
    for line in lines:
        if line in setup:
            continue
        pending.append(line)
        if line.startswith(f"{AWX_VENV}/bin/pip install "):
            requirement = line.split()[-1].strip('"')
            name = "git tag" if "git+" in requirement else "wheel" if requirement.endswith(".whl") else "PyPI"
            ways[name], pending = pending, []
    return setup, ways


def containerfile_install() -> str:
    """The Containerfile's RUN that installs the app, as one shell command."""
    text = (PROJECT / "contrib" / "Containerfile").read_text().replace("\\\n", " ")
    [run] = [
        line for line in text.splitlines() if line.startswith("RUN ") and "EVENTDEBUG_REQUIREMENT" in line
    ]
    return run.removeprefix("RUN ")


@pytest.fixture(scope="module")
def awxs_pip(tmp_path_factory) -> str:
    """AWX's pip as a command: the version its requirements.txt pins, run from its wheel by the
    venv's Python (pip runs from its wheel, as get-pip does)."""
    requirements = (VENV.parent / "src" / "requirements" / "requirements.txt").read_text()
    pinned = re.search(r"^pip==(\S+)$", requirements, re.MULTILINE).group(1)
    wheels = tmp_path_factory.mktemp("awx-pip")
    done = pip("download", "--no-deps", "--only-binary", ":all:", "--dest", str(wheels), f"pip=={pinned}")
    assert done.returncode == 0, done.stderr
    [wheel] = wheels.glob("pip-*.whl")
    command = f"{VENV}/bin/python {wheel}/pip"
    assert subprocess.run(command.split() + ["--version"], capture_output=True, text=True).stdout.startswith(
        f"pip {pinned} "
    )
    return command


def here(command: str, tmp: Path, awxs_pip: str) -> str:
    """``command`` on this box: AWX's pip is ``awxs_pip``, AWX's venv is VENV, /tmp/ is ``tmp``."""
    command = command.replace("/tmp/", f"{tmp}/").replace(f"{AWX_VENV}/bin/pip ", f"{awxs_pip} ")
    return command.replace(AWX_VENV, str(VENV))


@pytest.fixture(scope="module")
def reinstalled_at_the_end():
    """The app as box.sh installed it, once the tests below have uninstalled and installed it."""
    yield
    done = pip("install", "--no-deps", "--force-reinstall", "--quiet", str(WHEEL))
    assert done.returncode == 0, done.stderr


def uninstall_the_app():
    done = pip("uninstall", "--yes", "awx-eventdebug")
    assert done.returncode == 0, done.stdout + done.stderr
    assert pip("show", "awx-eventdebug").returncode == 1


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


def test_the_readme_has_three_ways():
    setup, ways = readme_install_ways()
    assert len(setup) == 1
    assert sorted(ways) == ["PyPI", "git tag", "wheel"]


@contextmanager
def served(folder: Path) -> Iterator[str]:
    """The URL of ``folder`` served over HTTP on 127.0.0.1 (git's dumb protocol, for a bare
    repository): a repository's URL as pip takes it (a git+file:/// URL has no host, and pip's
    requirement parser refuses a URL without one)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("way", ["PyPI", "wheel", "git tag"])
def test_the_readmes_way_plans_the_app_alone_then_installs_it(
    way, tmp_path, awxs_pip, reinstalled_at_the_end
):
    setup, ways = readme_install_ways()
    [claim] = [line.split("# ", 1)[1] for line in ways[way] if "--dry-run" in line]
    version = claim.rsplit("-", 1)[1]
    shutil.copy(WHEEL, tmp_path / WHEEL.name)  # the README copies the wheel to /tmp/
    # The repository: a bare clone of this checkout, tagged.
    git = partial(subprocess.run, check=True, capture_output=True, timeout=120)
    git(["git", "clone", "--bare", "--quiet", str(PROJECT), str(tmp_path / "awx-eventdebug.git")])
    git(["git", "-C", str(tmp_path / "awx-eventdebug.git"), "tag", "--force", f"v{version}"])
    git(["git", "-C", str(tmp_path / "awx-eventdebug.git"), "update-server-info"])
    uninstall_the_app()
    with served(tmp_path) as url:
        script = []
        for line in setup + ways[way]:
            line = re.sub(r"\s+#.*$", "", here(line, tmp_path, awxs_pip))
            line = re.sub(r"^REPO=.*$", f"REPO={url}/awx-eventdebug.git", line)
            if line.endswith(" awx-eventdebug"):  # PyPI's release: a local index of the wheel
                line += f" --no-index --find-links {tmp_path}"
            script.append(line)
        done = subprocess.run(["bash", "-ec", "\n".join(script)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert PLAN.findall(done.stdout) == [claim], done.stdout
    assert f"Version: {version}\n" in pip("show", "awx-eventdebug").stdout
    checked = pip("check")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_containerfile_installs_a_copied_wheel(tmp_path, awxs_pip, reinstalled_at_the_end):
    context = tmp_path / "eventdebug"  # COPY . /tmp/eventdebug/: dist/'s wheels (.dockerignore)
    (context / "dist").mkdir(parents=True)
    shutil.copy(WHEEL, context / "dist" / WHEEL.name)
    uninstall_the_app()
    done = subprocess.run(
        ["sh", "-c", here(containerfile_install(), tmp_path, awxs_pip)],
        env={**os.environ, "EVENTDEBUG_REQUIREMENT": f"dist/{WHEEL.name}"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert PLAN.findall(done.stdout) == [f"Would install awx-eventdebug-{WHEEL.name.split('-')[1]}"]
    assert pip("show", "awx-eventdebug").returncode == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == []  # it cleans up after itself
    checked = pip("check")
    assert checked.returncode == 0, checked.stdout + checked.stderr

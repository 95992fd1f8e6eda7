"""contrib/: the conf.d file the README shows and the Containerfile copies into AWX's image."""

import re
from pathlib import Path

from awx_eventdebug.checks import check_settings

ROOT = Path(__file__).resolve().parent.parent
CONF_D = ROOT / "contrib" / "eventdebug.py"


def test_readme_shows_the_conf_d_file_verbatim():
    readme = (ROOT / "README.md").read_text()
    shown = re.search(r"^# /etc/tower/conf\.d/eventdebug\.py.*?^}\n", readme, re.M | re.S).group(0)
    assert shown == CONF_D.read_text()


def test_containerfile_copies_it_into_awxs_conf_d():
    containerfile = (ROOT / "contrib" / "Containerfile").read_text()
    assert "COPY contrib/eventdebug.py /etc/tower/conf.d/eventdebug.py" in containerfile


def test_conf_d_file_adds_the_app_and_valid_options(settings):
    # AWX execs conf.d files inside its settings module, where these lists already exist.
    scope = {"INSTALLED_APPS": ["awx.main"], "MIDDLEWARE": ["awx.main.middleware.URLModificationMiddleware"]}
    exec(CONF_D.read_text(), scope)
    assert scope["INSTALLED_APPS"][-1] == "awx_eventdebug"
    assert scope["MIDDLEWARE"][-1] == "awx_eventdebug.middleware.EventDebugMiddleware"
    settings.EVENTDEBUG = scope["EVENTDEBUG"]
    assert check_settings(None) == []

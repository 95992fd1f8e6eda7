"""Run from a virtualenv holding only the built wheel and its runtime dependencies: fail unless
that environment holds exactly the declared dependencies and a project with awx_eventdebug in
INSTALLED_APPS passes `manage.py check` and finds the shipped migrations."""

import subprocess
import sys
from importlib import metadata
from pathlib import Path

RUNTIME = {"django", "channels", "channels-redis", "djangorestframework", "redis", "prometheus-client"}

workdir = Path(sys.argv[1])
requires = {
    r.split(">")[0].split("=")[0].split("<")[0].strip().lower() for r in metadata.requires("awx-eventdebug")
}
if requires != RUNTIME:
    sys.exit(f"install_requires is {sorted(requires)}, expected {sorted(RUNTIME)}")

(workdir / "project_settings.py").write_text(
    "SECRET_KEY = 'x'\n"
    "INSTALLED_APPS = ['django.contrib.auth', 'django.contrib.contenttypes',\n"
    "                  'django.contrib.staticfiles', 'rest_framework', 'awx_eventdebug']\n"
    "STATIC_URL = '/static/'\n"
    "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': ':memory:'}}\n"
    # socket_timeout None: what a project needs with redis-py 8 (check W052, docs/dashboard.md).
    "CHANNEL_LAYERS = {'default': {'BACKEND': 'channels_redis.core.RedisChannelLayer', 'CONFIG':\n"
    "    {'hosts': [{'address': 'redis://localhost:6379', 'socket_timeout': None}]}}}\n"
    "USE_TZ = True\n"
)
env = {"PYTHONPATH": str(workdir), "DJANGO_SETTINGS_MODULE": "project_settings", "PATH": ""}
for args in (["check", "--fail-level", "WARNING"], ["eventdebug", "--help"]):
    subprocess.run([sys.executable, "-m", "django", *args], env=env, check=True, cwd=workdir)
shown = subprocess.run(
    [sys.executable, "-m", "django", "showmigrations", "awx_eventdebug"],
    env=env,
    check=True,
    cwd=workdir,
    capture_output=True,
    text=True,
).stdout
if "0001_initial" not in shown:
    sys.exit(f"the wheel ships no awx_eventdebug migrations:\n{shown}")
print("the wheel installs alone and passes manage.py check")

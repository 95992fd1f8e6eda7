# AWX_SETTINGS_FILE of the real-AWX test tier: stands in for /etc/tower/settings.py. AWX execs it
# inside awx.settings.production, after its defaults, so LOGGING, CHANNEL_LAYERS and CACHES are
# AWX's own here; only what points at this machine changes. box.sh exports the AWX_TIER_* paths.
import os

BOX = os.environ["AWX_TIER_BOX"]
with open(os.environ["AWX_TIER_SECRET_KEY_FILE"]) as _key:
    SECRET_KEY = _key.read().strip()
ALLOWED_HOSTS = ["*"]
CLUSTER_HOST_ID = "awx-tier"
SYSTEM_UUID = INSTALL_UUID = "00000000-0000-0000-0000-000000000000"
DATABASES = {
    "default": {
        "ATOMIC_REQUESTS": True,
        "ENGINE": "awx.main.db.profiled_pg",
        "NAME": os.environ["AWX_TIER_DB"],
        "USER": os.environ.get("PGUSER", "postgres"),
        "PASSWORD": "",
        "HOST": os.environ.get("PGHOST", "127.0.0.1"),
        "PORT": os.environ.get("PGPORT", "5432"),
        "OPTIONS": {"sslmode": "prefer"},
    }
}
# Redis as AWX uses it: a unix socket, here the tier's own redis-server.
BROKER_URL = "unix://" + os.environ["AWX_TIER_REDIS_SOCKET"]
CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [BROKER_URL]  # noqa: F821
CACHES["default"]["LOCATION"] = BROKER_URL + "?db=1"  # noqa: F821
# AWX's metrics servers (callback receiver, dispatcher, websockets) listen on fixed ports; the
# tier's own free ones instead, so that it never collides with an AWX already on this machine.
_servers = METRICS_SUBSYSTEM_CONFIG["server"]  # noqa: F821
for _service, _port in zip(_servers, os.environ["AWX_TIER_METRICS_PORTS"].split(","), strict=True):
    _servers[_service]["port"] = int(_port)
STATIC_ROOT = os.path.join(BOX, "var/public/static")
PROJECTS_ROOT = os.path.join(BOX, "var/projects")
JOBOUTPUTS_ROOT = os.path.join(BOX, "var/job_status")
AWX_ISOLATION_BASE_PATH = os.path.join(BOX, "var/tmp")
# AWX's LOGGING in file mode, as on a VM install; only the directory moves from /var/log/tower.
LOG_ROOT = os.path.join(BOX, "log") + "/"
for _handler in LOGGING["handlers"].values():  # noqa: F821
    if _handler.get("filename", "").startswith("/var/log/tower/"):
        _handler["filename"] = os.path.join(LOG_ROOT, os.path.basename(_handler["filename"]))

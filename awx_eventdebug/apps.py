"""The app's configuration: ``ready()`` wires up the checks, the settings cache, the overflow
capture when ``EVENTDEBUG['CAPTURE']`` is on and the maintenance thread when
``EVENTDEBUG['MAINTENANCE']`` is on; nothing else runs at startup."""

from django.apps import AppConfig


class EventDebugConfig(AppConfig):
    name = "awx_eventdebug"
    verbose_name = "AWX event debugging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Wiring only: no database, no network, nothing attached at import time.
        from django.core import checks
        from django.core.signals import setting_changed

        from . import conf
        from .checks import ALL_CHECKS
        from .path.registry import hops

        # The hops declare the check's thresholds as CHECK_* options: loaded before any is read.
        hops()

        for check in ALL_CHECKS:
            checks.register(check, "awx_eventdebug")
        setting_changed.connect(conf.reset_on_change, dispatch_uid="awx_eventdebug.conf")

        config = conf.get_config()
        if config["CAPTURE"]:
            from .overflow.install import install

            install()
        if config["MAINTENANCE"]:
            # Only in long-running services; the thread only starts here, its first read of the
            # database or Redis waits for the next slot.
            from .maintenance.thread import start_maintainer

            start_maintainer()

"""A capturing process to be killed: it installs the capture handler (no periodic flush), logs
3 overflow records of group "flushed" and writes them, logs 2 of group "pending", prints
"ready" and waits for a signal. With ``exit-on-sigterm`` it handles SIGTERM as AWX's own
services do, by exiting through the interpreter; otherwise SIGTERM keeps its default action.

Usage: python -m tests.support.capture_victim [exit-on-sigterm]
"""

import logging
import os
import signal
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")


def main(exit_on_sigterm: bool) -> None:
    import django
    from django.test.utils import override_settings

    django.setup()
    override_settings(EVENTDEBUG={"CAPTURE_FLUSH_INTERVAL": 3600}).enable()
    from awx_eventdebug.overflow import install
    from awx_eventdebug.overflow.record import LOGGER_NAME, OVERFLOW_FORMAT

    handler = install.install()
    logger = logging.getLogger(LOGGER_NAME)
    for _ in range(3):
        logger.info(OVERFLOW_FORMAT, 1, 4, "flushed")
    assert handler.flush(timeout=30)
    for _ in range(2):
        logger.info(OVERFLOW_FORMAT, 1, 4, "pending")
    if exit_on_sigterm:
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    print("ready", flush=True)
    time.sleep(60)


if __name__ == "__main__":
    main(sys.argv[1:] == ["exit-on-sigterm"])

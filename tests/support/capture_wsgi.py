"""A WSGI application for uWSGI that counts as tests/support/capture_victim.py does: GET /count
writes 3 records and leaves 2 pending; GET /count-and-stay does the same, then stays in the
request for ten minutes (the master stops it long before); every request answers the worker's pid."""

import os
import time

from tests.support.capture_victim import count


def application(environ, start_response):
    if environ["PATH_INFO"] in ("/count", "/count-and-stay"):
        count()
    if environ["PATH_INFO"] == "/count-and-stay":
        time.sleep(600)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]

"""A WSGI application for uWSGI that counts as tests/support/capture_victim.py does: GET /count
writes 3 records and leaves 2 pending; every request answers the worker's pid."""

import os

from tests.support.capture_victim import count


def application(environ, start_response):
    if environ["PATH_INFO"] == "/count":
        count()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]

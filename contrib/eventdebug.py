# /etc/tower/conf.d/eventdebug.py: AWX execs this file inside its settings module.
INSTALLED_APPS += ["awx_eventdebug"]  # noqa: F821
# AWX builds its URL list itself; this middleware, placed after AWX's own, serves the app's
# endpoints under EVENTDEBUG["URL_PREFIX"] (default /api/eventdebug/).
MIDDLEWARE += ["awx_eventdebug.middleware.EventDebugMiddleware"]  # noqa: F821
EVENTDEBUG = {
    # every option, with its default, is in docs/settings.md
    "STATEMENT_TIMEOUT": 30,
}

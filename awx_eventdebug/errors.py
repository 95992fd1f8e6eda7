"""Errors the core raises for conditions a user can act on.

The REST views turn them into JSON responses with ``http_status``; the management command turns
them into a CommandError with ``exit_code``. Neither ever shows a traceback for them.
"""

from .secrets import mask_secrets

# The most characters of a value that a refusal quotes: a 100 KB value is not echoed back whole.
QUOTED_MAX = 60


def cut(text: str, limit: int = QUOTED_MAX) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quoted(value) -> str:
    """``value`` as a refusal quotes it: its repr, cut to QUOTED_MAX characters."""
    return cut(repr(value))


def first_line(exc: BaseException) -> str:
    """An exception as one line for a report: its message's first line, else its type's name;
    never a password it may quote."""
    text = mask_secrets(str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class EventDebugError(Exception):
    http_status = 500
    exit_code = 1

    def __init__(self, message: str, *, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self):
        if not self.hint:
            return self.message
        # The message and its hint read as two sentences.
        return f"{self.message.rstrip()}{'' if self.message.rstrip().endswith('.') else '.'} {self.hint}"


class NotFound(EventDebugError):
    """A job, kind or other object named by the user does not exist."""

    http_status = 404
    exit_code = 2


class Unavailable(EventDebugError):
    """A table, Redis host or other part of the system is missing or unreachable."""

    http_status = 503
    exit_code = 2


class QueryTimeout(Unavailable):
    """A diagnostic SQL statement ran past EVENTDEBUG['STATEMENT_TIMEOUT']."""


class Misconfigured(EventDebugError):
    """Settings the app needs are absent or unusable (for example no such channel layer)."""

    http_status = 503
    exit_code = 2

"""The parameters of the critical path view, validated once for GET path/ and ``eventdebug
path``, and its document."""

from __future__ import annotations

from ..health.params import ReportQuerySerializer
from ..health.report import Thresholds, lag_section
from ..sections import section
from ..timeutil import isoformat
from .verdict import critical_path


class PathQuerySerializer(ReportQuerySerializer):
    """``since``: start of the window of the lag (hop 4) and overflow drops (hop 5) figures."""


def path_document(query: dict) -> dict:
    """The document of GET path/ for a query validated by PathQuerySerializer."""
    window = query["window"]
    errors: dict[str, str] = {}
    lag = section(lambda: lag_section(window, 0), errors, "lag")
    path = critical_path(window, Thresholds.from_settings(), lag, errors.get("lag", ""))
    return {"generated_at": isoformat(window.until), "window": window.as_dict(), **path}

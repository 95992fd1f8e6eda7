import pytest
from django.core.checks import Warning
from django.core.management import call_command

from awx_eventdebug import checks
from awx_eventdebug.checks import check_channel_layer, check_settings
from awx_eventdebug.conf import OPTIONS, get_config


def test_no_findings_by_default(settings):
    settings.EVENTDEBUG = {}
    assert check_settings() == []
    assert check_channel_layer() == []


def test_not_a_dict(settings):
    settings.EVENTDEBUG = "LAYER=default"
    assert check_settings() == [
        Warning(
            "EVENTDEBUG must be a dict, not str; using the defaults.",
            hint=checks.DOCS_HINT,
            id="awx_eventdebug.W001",
        )
    ]


def test_unknown_key_suggests_the_close_option(settings):
    settings.EVENTDEBUG = {"REDIS_TIMEOTU": 1}
    [warning] = check_settings()
    assert warning.id == "awx_eventdebug.W002"
    assert "'REDIS_TIMEOTU'" in warning.msg
    assert warning.hint.startswith("Did you mean 'REDIS_TIMEOUT'?")


def test_wrong_type_and_unusable_values(settings):
    settings.EVENTDEBUG = {
        "REDIS_TIMEOUT": "2",
        "STATEMENT_TIMEOUT": 0,
        "PERMISSION_CLASSES": ["NotDotted"],
        "LAYER": "default",
    }
    found = {w.msg.split("]")[0]: w for w in check_settings()}
    assert set(found) == {
        "EVENTDEBUG['REDIS_TIMEOUT'",
        "EVENTDEBUG['STATEMENT_TIMEOUT'",
        "EVENTDEBUG['PERMISSION_CLASSES'",
    }
    assert all(w.id == "awx_eventdebug.W003" for w in found.values())
    assert "expected int or float, got str" in found["EVENTDEBUG['REDIS_TIMEOUT'"].msg
    assert "must be from 0.001 to 86400" in found["EVENTDEBUG['STATEMENT_TIMEOUT'"].msg


def test_missing_channel_layer_alias(settings):
    settings.EVENTDEBUG = {"LAYER": "websockets"}
    [warning] = check_channel_layer()
    assert warning.id == "awx_eventdebug.W004"
    assert "'websockets'" in warning.msg and "configured: default" in warning.msg


def test_no_channel_layers_at_all(settings):
    del settings.CHANNEL_LAYERS
    [warning] = check_channel_layer()
    assert "configured: none" in warning.msg


def test_checks_are_registered_with_django(settings, capsys):
    settings.EVENTDEBUG = {"NOPE": 1}
    call_command("check")
    assert "awx_eventdebug.W002" in capsys.readouterr().err


def test_lag_window_longer_than_the_maximum(settings):
    from awx_eventdebug.checks import check_lag_window

    settings.EVENTDEBUG = {"LAG_WINDOW": "2d", "LAG_MAX_WINDOW": "1d"}
    [warning] = check_lag_window()
    assert warning.id == "awx_eventdebug.W010"
    assert "(2d) is longer than EVENTDEBUG['LAG_MAX_WINDOW'] (1d)" in warning.msg
    settings.EVENTDEBUG = {"LAG_WINDOW": "1d", "LAG_MAX_WINDOW": "1d"}
    assert check_lag_window() == []


def test_lag_settings_are_validated(settings):
    settings.EVENTDEBUG = {"LAG_WINDOW": "soon", "LAG_PERCENTILES": [50, 50], "LAG_MAX_GROUPS": 0}
    found = {w.msg.split("]")[0]: w.msg for w in check_settings()}
    assert "not a duration" in found["EVENTDEBUG['LAG_WINDOW'"]
    assert "given twice" in found["EVENTDEBUG['LAG_PERCENTILES'"]
    assert "must be from 1 to 100000" in found["EVENTDEBUG['LAG_MAX_GROUPS'"]


def test_health_window_longer_than_the_maximum_is_cut_to_it(settings):
    from datetime import timedelta

    from django.utils import timezone

    from awx_eventdebug.checks import check_health_window
    from awx_eventdebug.health.report import health_window

    settings.EVENTDEBUG = {"HEALTH_WINDOW": "3d", "LAG_MAX_WINDOW": "1d"}
    [warning] = check_health_window()
    assert warning.id == "awx_eventdebug.W060"
    assert "(3d) is longer than EVENTDEBUG['LAG_MAX_WINDOW'] (1d)" in warning.msg
    window = health_window(timezone.now())
    assert window.until - window.since == timedelta(days=1)
    settings.EVENTDEBUG = {"HEALTH_WINDOW": "1d", "LAG_MAX_WINDOW": "1d"}
    assert check_health_window() == []


def test_check_thresholds_are_validated(settings):
    settings.EVENTDEBUG = {"CHECK_MAX_FILL": 120, "CHECK_MAX_DROPS": -1, "METRICS_ALLOW_ANONYMOUS": 1}
    found = {w.msg.split("]")[0]: w.msg for w in check_settings()}
    assert "must be from 0% to 100%" in found["EVENTDEBUG['CHECK_MAX_FILL'"]
    assert "must be from 0 drops to " in found["EVENTDEBUG['CHECK_MAX_DROPS'"]
    assert "expected bool, got int" in found["EVENTDEBUG['METRICS_ALLOW_ANONYMOUS'"]


def _unusable_values(name):
    """Values of every class a conf.d typo produces: wrong type, empty, non-finite, unimportable."""
    option = OPTIONS[name]
    values = [object()]
    if str in option.types:
        values.append("")
    if list in option.types:
        values += [[], ()]
    if float in option.types:
        values += [float("nan"), float("inf"), float("-inf")]
    if name == "PERMISSION_CLASSES":
        values += [["no_such_module.Permission"], ["awx_eventdebug.permissions.NoSuchClass"], ["os.sep"]]
    return values


@pytest.mark.parametrize(
    ("name", "value"),
    [(name, value) for name in OPTIONS for value in _unusable_values(name)],
    ids=lambda v: v if isinstance(v, str) else repr(v)[:30],
)
def test_every_unusable_value_is_reported_and_replaced_by_the_default(settings, name, value):
    settings.EVENTDEBUG = {}
    default = get_config()[name]
    settings.EVENTDEBUG = {name: value}
    [warning] = check_settings()
    assert warning.id == "awx_eventdebug.W003" and f"EVENTDEBUG[{name!r}]" in warning.msg
    assert get_config()[name] == default

import json
import re
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal

from awx_eventdebug.conf import DEFAULTS, OPTIONS, effective_settings, get_config
from tests.support import ROOT

DOCS = ROOT / "docs" / "settings.md"


def test_defaults_without_user_settings(settings):
    settings.EVENTDEBUG = {}
    assert effective_settings() == DEFAULTS
    assert get_config()["LAYER"] == DEFAULTS["LAYER"]


def test_values_are_parsed_once_into_the_types_the_code_reads(settings):
    durations = ("RETENTION", "LAG_WINDOW", "LAG_MAX_WINDOW", "HEALTH_WINDOW")
    settings.EVENTDEBUG = {"LAG_WINDOW": "90m", "LAG_PERCENTILES": ["99.9", 50]}
    config = get_config()
    assert all(isinstance(config[name], timedelta) for name in durations)
    assert (config["LAG_WINDOW"], config["LAG_MAX_WINDOW"]) == (timedelta(minutes=90), timedelta(days=31))
    assert config["LAG_PERCENTILES"] == (Decimal(50), Decimal("99.9"))
    assert get_config() is config  # cached until the settings change
    # As written, for the doctor and for messages quoting a setting.
    assert effective_settings()["LAG_WINDOW"] == "90m"
    assert effective_settings()["LAG_PERCENTILES"] == ["99.9", 50]
    settings.EVENTDEBUG = {"LAG_WINDOW": "2h"}
    assert get_config()["LAG_WINDOW"] == timedelta(hours=2)
    assert effective_settings()["LAG_WINDOW"] == "2h"


def test_unparsable_values_fall_back_to_the_parsed_default(settings):
    settings.EVENTDEBUG = {"RETENTION": "soon", "HEALTH_WINDOW": "99999999999d", "LAG_PERCENTILES": [0]}
    config = get_config()
    assert (config["RETENTION"], config["HEALTH_WINDOW"]) == (timedelta(days=30), timedelta(minutes=15))
    assert config["LAG_PERCENTILES"] == (Decimal(50), Decimal(90), Decimal(95), Decimal(99))


def test_user_value_overrides_default_and_is_reread(settings):
    settings.EVENTDEBUG = {"REDIS_TIMEOUT": 0.5}
    assert get_config()["REDIS_TIMEOUT"] == 0.5
    settings.EVENTDEBUG = {"REDIS_TIMEOUT": 3}
    assert get_config()["REDIS_TIMEOUT"] == 3


def test_invalid_values_fall_back_to_defaults(settings):
    settings.EVENTDEBUG = {"REDIS_TIMEOUT": "fast", "STATEMENT_TIMEOUT": True, "URL_PREFIX": "api"}
    config = get_config()
    assert config["REDIS_TIMEOUT"] == DEFAULTS["REDIS_TIMEOUT"]
    assert config["STATEMENT_TIMEOUT"] == DEFAULTS["STATEMENT_TIMEOUT"]
    assert config["URL_PREFIX"] == DEFAULTS["URL_PREFIX"]


def test_not_a_dict_means_defaults(settings):
    settings.EVENTDEBUG = ["LAYER"]
    assert effective_settings() == DEFAULTS


def test_every_option_is_documented_with_its_default():
    text = DOCS.read_text()
    documented = set(re.findall(r"^### `(\w+)`", text, flags=re.MULTILINE))
    assert documented == set(OPTIONS)
    for name, option in OPTIONS.items():
        section = text.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0]
        assert f"Default: `{option.default!r}`" in section, name


def test_every_range_is_documented_as_declared():
    text = DOCS.read_text()
    for name, option in OPTIONS.items():
        section = text.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0]
        stated = re.findall(r"^Range: .*$", section, flags=re.MULTILINE)
        if option.minimum is None:
            assert stated == [], name
            continue
        expected = f"Range: `{option.shown(option.minimum)}` to `{option.shown(option.maximum)}`"
        if option.off is not None:
            expected += f", or `{option.shown(option.off)}` (off)"
        assert stated == [expected], name


def test_conf_imports_its_parsers_and_nothing_else_of_the_app():
    """The parsers' modules (and errors, whose quoted() the refusals use) import nothing that
    imports conf, so conf imports them directly."""
    code = "import json, sys, awx_eventdebug.conf; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = [name for name in json.loads(result.stdout) if name.startswith("awx_eventdebug")]
    assert loaded == [
        "awx_eventdebug",
        "awx_eventdebug.conf",
        "awx_eventdebug.errors",
        "awx_eventdebug.percentiles",
        "awx_eventdebug.secrets",
        "awx_eventdebug.timeutil",
    ]

import re

from awx_eventdebug.conf import DEFAULTS, OPTIONS, get_config
from tests.support import ROOT

DOCS = ROOT / "docs" / "settings.md"


def test_defaults_without_user_settings(settings):
    settings.EVENTDEBUG = {}
    assert get_config() == DEFAULTS


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
    assert get_config() == DEFAULTS


def test_every_option_is_documented_with_its_default():
    text = DOCS.read_text()
    documented = set(re.findall(r"^### `(\w+)`", text, flags=re.MULTILINE))
    assert documented == set(OPTIONS)
    for name, option in OPTIONS.items():
        section = text.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0]
        assert f"Default: `{option.default!r}`" in section, name

import pytest

from tests.conftest import REDIS_URL
from tests.support.channel_layers import layer_config, use_layer


@pytest.fixture
def layer_settings(settings, key_prefix):
    """CHANNEL_LAYERS['default']: a RedisChannelLayer on the real Redis, this test's own prefix."""
    config = layer_config([REDIS_URL], key_prefix)
    use_layer(settings, config)
    return config

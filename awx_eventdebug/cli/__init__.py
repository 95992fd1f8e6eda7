"""The subcommands of ``eventdebug``: thin layers that format what the core modules compute."""

from .doctor import Doctor
from .lag import Lag

SUBCOMMANDS = (Doctor, Lag)

"""The subcommands of ``eventdebug``: thin layers that format what the core modules compute."""

from .channels import Groups, Queues, Watch
from .doctor import Doctor

SUBCOMMANDS = (Doctor, Groups, Queues, Watch)

"""The subcommands of ``eventdebug``: thin layers that format what the core modules compute."""

from .channels import Groups, Queues, Watch
from .cleanup import Cleanup
from .doctor import Doctor
from .health import Check, Report
from .lag import Lag
from .listen import Listen
from .overflow import Ingest, Overflow, Purge
from .path import Path, Sample

SUBCOMMANDS = (
    Doctor,
    Lag,
    Overflow,
    Ingest,
    Purge,
    Groups,
    Queues,
    Watch,
    Listen,
    Cleanup,
    Report,
    Check,
    Path,
    Sample,
)

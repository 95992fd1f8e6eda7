#!/usr/bin/env python
"""The example project's manage.py: ``python example_settings/manage.py eventdebug doctor``."""

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    # The project root, so that both example_settings and awx_eventdebug import from a checkout.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_settings.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)

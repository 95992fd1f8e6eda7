"""Helpers shared by the tests: servers, workloads, AWX stand-ins. Not tests themselves."""

from pathlib import Path

# The project's checkout: subprocesses run from it so that ``tests`` and ``example_settings`` import.
ROOT = Path(__file__).resolve().parents[2]

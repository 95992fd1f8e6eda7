"""One process of a simulated AWX node (tests/path/test_cluster.py): Django set up with
tests.support.node_settings, so the app's ready() starts the path sampler, then a main loop
that prints a heartbeat, the process's other work, until it is killed."""

import sys
import time

import django


def main():
    django.setup()
    beats = 0
    while True:
        beats += 1
        print(f"beat {beats}", flush=True)
        time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(main())

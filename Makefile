# The README's commands: `make demo`, `make serve` and `make test`; `make test-awx` for the real-AWX tier,
# `make dist` for the wheel an AWX host installs.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python example_settings/manage.py

# The demo's workload: jobs of each kind over the last two hours, lag with bursts, one slow
# execution node and two whose clocks are off (example_settings/awxschema/workload.py).
DEMO_SEED_ARGS ?= --jobs 20 --events 500 --since 2h --profile bursty,slow_node,skewed_node --seed 7

# make serve PORT=8080 when 8000 is taken.
PORT ?= 8000
DB := example_settings/db.sqlite3

# AWX source tarballs: the version sets and the install test read AWX's requirements from them
# (noxfile.py), the real-AWX tier builds AWX from them (scripts/awx-tier/).
# AWX_SOURCE=path/to/awx-<ref>.tar.gz, a space-separated list; by default every one found in the
# shared folder beside the checkout.
AWX_SOURCE ?= $(wildcard ../shared/awx/awx-*.tar.gz)
export AWX_SOURCE

.PHONY: demo serve reset screenshot test test-awx lint dist services chromium promtool awx-build-deps clean

# daphne serves the example project for make serve (channels 3 brings it, channels 4 does not).
$(BIN)/activate: setup.cfg
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e . "psycopg[binary]>=3.1" daphne nox
	touch $@

# Fresh SQLite database, seeded workload, a small real overflow (needs Redis), the superuser
# demo/demo, the doctor, one snapshot of this node's hops (as a running AWX takes them,
# docs/path.md), then the report (lag, overflow, queues, the critical path) and the check's
# verdict: each failed check with its cause and remedy. A stopped Redis
# shows up as unreachable; the demo goes on. The superuser exists only in this SQLite file: demo use only.
demo: $(BIN)/activate
	rm -f $(DB)
	$(MANAGE) migrate --verbosity 0
	$(MANAGE) seed_awx_events $(DEMO_SEED_ARGS)
	-$(MANAGE) make_overflow
	DJANGO_SUPERUSER_PASSWORD=demo $(MANAGE) createsuperuser --noinput --username demo --email demo@example.invalid
	@echo "(The same data in the dashboard: make serve, then http://127.0.0.1:$(PORT)/ as demo/demo)"
	-$(MANAGE) eventdebug doctor
	-$(MANAGE) eventdebug sample --interval 10
	-$(MANAGE) eventdebug report --since 2h
	@echo "(The verdict, each failed check with its cause and remedy: docs/runbook.md has a section for each)"
	-$(MANAGE) eventdebug check --since 2h

# The demo's data in the dashboard, with the live gauge's /websocket/: http://127.0.0.1:$(PORT)/.
# Keeps the database between starts (what was captured stays); runs the demo only when there is
# none yet; make reset starts afresh. daphne rather than runserver: the same command on channels
# 3 and 4, and example_settings/asgi.py serves the static files.
serve: $(BIN)/activate
	[ -f $(DB) ] || $(MAKE) demo
	$(MANAGE) migrate --verbosity 0
	$(BIN)/daphne -b 127.0.0.1 -p $(PORT) example_settings.asgi:application

# A fresh demo database (the seeded workload again), for the next make serve.
reset:
	$(MAKE) demo

# The README's screenshot, docs/dashboard.png: the demo on the dashboard, taken by the browser test
# that checks what it shows (tests/dashboard/test_browser.py).
screenshot: $(BIN)/activate services chromium
	$(BIN)/nox -s "tests(versions='latest')" -- tests/dashboard/test_browser.py -k the_demo_as_the_readme_shows_it
	cp artifacts/dashboard-demo.png docs/dashboard.png

services:
	scripts/ensure-services.sh

chromium:
	scripts/ensure-chromium.sh

promtool:
	scripts/ensure-promtool.sh

awx-build-deps:
	scripts/ensure-awx-build-deps.sh

# nox's sessions (noxfile.py), the longest first, two at a time on separate databases: the suites
# wait on Redis, PostgreSQL and the browser as much as they compute. Each session's output is
# printed whole when it ends; `make test NOX_LANES=1` runs them one after another. AWX devel
# f5760b1's pins (noxfile's awx-devel-2024) are left to the real-AWX tier, which runs that AWX
# itself, to keep the whole run within CI's budget: `make nox-tests-awx-devel-2024` runs them.
NOX_LANES ?= 2
NOX_SESSIONS := tests-latest tests-awx-devel-2025 tests-awx-24.6.1 awx_install package

# The normal suite, then the real-AWX tier when there is an AWX source to build it from.
test: $(BIN)/activate services chromium promtool awx-build-deps
	$(BIN)/nox -s lint
	$(MAKE) --no-print-directory -j$(NOX_LANES) --output-sync=target $(addprefix nox-,$(NOX_SESSIONS))
	@if [ -n "$(strip $(AWX_SOURCE))" ]; then $(MAKE) --no-print-directory test-awx; \
	else echo "make test: real-AWX tier skipped: no AWX source tarball found (AWX_SOURCE=path/to/awx-<version>.tar.gz)"; fi

nox-tests-%: $(BIN)/activate
	@echo "== nox tests($*) started $$(date +%T)"
	$(BIN)/nox -s "tests(versions='$*')"

nox-%: $(BIN)/activate
	@echo "== nox $* started $$(date +%T)"
	$(BIN)/nox -s $*

# Each AWX version built from its source, the app installed in it, tests_awx/ run inside it.
test-awx: services
	@[ -n "$(strip $(AWX_SOURCE))" ] || { echo "make test-awx: no AWX source tarball: set AWX_SOURCE=path/to/awx-<version>.tar.gz" >&2; exit 2; }
	scripts/awx-tier/run.sh $(AWX_SOURCE)

lint: $(BIN)/activate
	$(BIN)/nox -s lint

# The sdist and the wheel (python -m build) into $(DIST), checked: twine check --strict, and the
# wheel holds the whole package (templates, static files, migrations) and nothing else (noxfile.py).
DIST ?= dist
dist: $(BIN)/activate
	$(BIN)/nox -s dist -- $(DIST)

clean:
	rm -rf $(VENV) .nox build dist *.egg-info $(DB) artifacts/awx-tier

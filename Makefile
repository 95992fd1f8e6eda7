# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python example_settings/manage.py

# The demo's workload: jobs of each kind over the last two hours, lag with bursts.
DEMO_SEED_ARGS ?= --jobs 20 --events 500 --since 2h --profile bursty --seed 7

.PHONY: demo test lint services clean

$(BIN)/activate: setup.cfg
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e . "psycopg[binary]>=3.1" nox
	touch $@

# Fresh SQLite database, seeded workload, then every report. A stopped Redis shows up in the
# report as unreachable; it does not fail the demo.
demo: $(BIN)/activate
	rm -f example_settings/db.sqlite3
	$(MANAGE) migrate --verbosity 0
	$(MANAGE) seed_awx_events $(DEMO_SEED_ARGS)
	-$(MANAGE) eventdebug doctor
	-$(MANAGE) eventdebug overflow
	-$(MANAGE) eventdebug groups
	-$(MANAGE) eventdebug lag --since 2h --by event

services:
	scripts/ensure-services.sh

test: $(BIN)/activate services
	$(BIN)/nox

lint: $(BIN)/activate
	$(BIN)/nox -s lint

clean:
	rm -rf $(VENV) .nox build dist *.egg-info example_settings/db.sqlite3

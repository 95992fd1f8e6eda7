# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python example_settings/manage.py

# The demo's workload: jobs of each kind over the last two hours, lag with bursts.
DEMO_SEED_ARGS ?= --jobs 20 --events 500 --since 2h --profile bursty --seed 7

# make serve PORT=8080 when 8000 is taken.
PORT ?= 8000
DB := example_settings/db.sqlite3

.PHONY: demo serve reset test lint services chromium promtool clean

# daphne serves the example project for make serve (channels 3 brings it, channels 4 does not).
$(BIN)/activate: setup.cfg
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e . "psycopg[binary]>=3.1" daphne nox
	touch $@

# Fresh SQLite database, seeded workload, a small real overflow (needs Redis), the superuser
# demo/demo, the doctor, then the report (lag, overflow, queues). A stopped Redis shows up as
# unreachable; the demo goes on. The superuser exists only in this SQLite file: demo use only.
demo: $(BIN)/activate
	rm -f $(DB)
	$(MANAGE) migrate --verbosity 0
	$(MANAGE) seed_awx_events $(DEMO_SEED_ARGS)
	-$(MANAGE) make_overflow
	DJANGO_SUPERUSER_PASSWORD=demo $(MANAGE) createsuperuser --noinput --username demo --email demo@example.invalid
	@echo "(The same data in the dashboard: make serve, then http://127.0.0.1:$(PORT)/ as demo/demo)"
	-$(MANAGE) eventdebug doctor
	-$(MANAGE) eventdebug report --since 2h

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

services:
	scripts/ensure-services.sh

chromium:
	scripts/ensure-chromium.sh

promtool:
	scripts/ensure-promtool.sh

test: $(BIN)/activate services chromium promtool
	$(BIN)/nox

lint: $(BIN)/activate
	$(BIN)/nox -s lint

clean:
	rm -rf $(VENV) .nox build dist *.egg-info $(DB)

# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python example_settings/manage.py

# The demo's workload: jobs of each kind over the last two hours, lag with bursts.
DEMO_SEED_ARGS ?= --jobs 20 --events 500 --since 2h --profile bursty --seed 7

# AWX source tarballs: the version sets and the install test read AWX's requirements from them
# (noxfile.py). AWX_SOURCE=path/to/awx-<ref>.tar.gz, a space-separated list; by default every one
# found in the shared folder beside the checkout.
AWX_SOURCE ?= $(wildcard ../shared/awx/awx-*.tar.gz)
export AWX_SOURCE

.PHONY: demo serve test lint services chromium awx-build-deps clean

# daphne serves the example project for make serve (channels 3 brings it, channels 4 does not).
$(BIN)/activate: setup.cfg
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e . "psycopg[binary]>=3.1" daphne nox
	touch $@

# Fresh SQLite database, seeded workload, a small real overflow (needs Redis), the doctor, then
# the report (lag, overflow, queues). A stopped Redis shows up as unreachable; the demo goes on.
demo: $(BIN)/activate
	rm -f example_settings/db.sqlite3
	$(MANAGE) migrate --verbosity 0
	$(MANAGE) seed_awx_events $(DEMO_SEED_ARGS)
	-$(MANAGE) make_overflow
	@echo "(The same data in the dashboard: make serve, then http://127.0.0.1:8000/ as demo/demo)"
	-$(MANAGE) eventdebug doctor
	-$(MANAGE) eventdebug report --since 2h

# The demo's data in the dashboard, with the live gauge's /websocket/: http://127.0.0.1:8000/.
# The superuser demo/demo exists only in the example project's SQLite file: demo use only.
# daphne rather than runserver: the same command on channels 3 and 4, and example_settings/asgi.py
# serves the static files (channels 3's runserver static handler fails under current asgiref).
serve: demo
	DJANGO_SUPERUSER_PASSWORD=demo $(MANAGE) createsuperuser --noinput --username demo --email demo@example.invalid
	$(BIN)/daphne -b 127.0.0.1 -p 8000 example_settings.asgi:application

services:
	scripts/ensure-services.sh

chromium:
	scripts/ensure-chromium.sh

awx-build-deps:
	scripts/ensure-awx-build-deps.sh

test: $(BIN)/activate services chromium awx-build-deps
	$(BIN)/nox

lint: $(BIN)/activate
	$(BIN)/nox -s lint

clean:
	rm -rf $(VENV) .nox build dist *.egg-info example_settings/db.sqlite3

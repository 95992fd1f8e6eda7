#!/usr/bin/env bash
# One AWX version of the real-AWX test tier: AWX from its source tarball, the app's wheel installed
# in it as the README says, AWX's callback receiver, uwsgi and daphne running, then the tier's
# tests (tests_awx/) run by pytest with AWX's own Python. Stops everything it started on exit.
#
#   scripts/awx-tier/box.sh AWX_TARBALL [PYTEST_ARGS...]
#
# AWX_TARBALL: ansible/awx's source (awx-<ref>.tar.gz). The django-ansible-base source it needs
# is taken beside it (django-ansible-base-<ref>.tar.gz, the ref AWX pins), or from DAB_SOURCE.
# Cached per AWX source (AWX_TIER_CACHE, default ~/.cache/awx-eventdebug/<ref>-<hash>/): the venv
# with AWX's requirements.txt, and a PostgreSQL template database holding AWX's migrations, so a
# second run skips pip and `migrate`. Logs and the JUnit report: artifacts/awx-tier/<ref>/.
# Needs PostgreSQL (PGHOST/PGPORT/PGUSER, default 127.0.0.1:5432 postgres, trust), redis-server,
# python3.11 (AWX_TIER_PYTHON) and, on a first run, apt-get for the build dependencies.
set -euo pipefail

PROJECT=$(cd "$(dirname "$0")/../.." && pwd)
TIER=$PROJECT/scripts/awx-tier
AWX_TGZ=$(realpath "$1"); shift
REF=$(basename "$AWX_TGZ" .tar.gz); REF=${REF#awx-}
PY=${AWX_TIER_PYTHON:-python3.11}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
BOX=$PROJECT/artifacts/awx-tier/$REF
T0=$(date +%s); TP=$T0

say() { echo "awx-tier [$REF] $*"; }
step_done() { local now; now=$(date +%s); say "$1: $((now - TP)) s"; echo "$1 $((now - TP))" >> "$BOX/timings.txt"; TP=$now; }
# A command's output goes to a log; on failure its tail is shown and the run stops.
logged() { local log=$1; shift; "$@" >> "$BOX/log/$log" 2>&1 || { tail -40 "$BOX/log/$log"; say "failed: $* (log: $BOX/log/$log)"; exit 1; }; }
psql_value() { psql -X -d postgres -Atc "$1"; }

# ---------------------------------------------------------------- sources and cache key
# AWX pins django-ansible-base from git; the tarball of the pinned ref is expected beside AWX's.
# AWX 24.6.1 pins the devel branch: 2024.7.1 is django-ansible-base's release of that day.
dab_tarball() {
  local pinned version
  [ -n "${DAB_SOURCE:-}" ] && { realpath "$DAB_SOURCE"; return; }
  pinned=$(tar -xzOf "$AWX_TGZ" --wildcards '*/requirements/requirements_git.txt' \
    | sed -n 's/^django-ansible-base @ [^@]*@\([^#]*\)#.*/\1/p')
  version=$(tar -xzOf "$AWX_TGZ" --wildcards '*/VERSION')
  if [ "$pinned" = devel ] && [ "$version" = 24.6.1 ]; then pinned=2024.7.1; fi
  local found; found=$(dirname "$AWX_TGZ")/django-ansible-base-$pinned.tar.gz
  [ -f "$found" ] || { echo "awx-tier [$REF] AWX pins django-ansible-base@$pinned: no $found (set DAB_SOURCE)" >&2; exit 1; }
  echo "$found"
}
DAB_TGZ=$(dab_tarball)
DAB_REF=$(basename "$DAB_TGZ" .tar.gz); DAB_REF=${DAB_REF#django-ansible-base-}
KEY=$(cat <(sha256sum < "$AWX_TGZ") <(sha256sum < "$DAB_TGZ") | sha256sum | cut -c1-12)
CACHE_ROOT=${AWX_TIER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/awx-eventdebug}
CACHE=$CACHE_ROOT/$REF-$KEY
VENV=$CACHE/venv
ANSIBLE_VENV=$CACHE_ROOT/ansible-core-2.16
TEMPLATE_DB=awx_tier_tpl_$KEY
RUN_DB=awx_tier_$KEY

# One run at a time per AWX source: the app is installed into the cached venv, the database and
# the template are named after the source. A second checkout's run waits for the first.
mkdir -p "$CACHE_ROOT"
exec {CACHE_LOCK}> "$CACHE.lock"
if ! flock -n "$CACHE_LOCK"; then
  echo "awx-tier [$REF] waiting for another run of the tier on this AWX source to end"
  flock "$CACHE_LOCK"
fi

rm -rf "$BOX"; mkdir -p "$BOX"/{etc/conf.d,etc/conf.d-without-app,log,var/projects,var/tmp,var/job_status,var/public/static}
RUN=$(mktemp -d /tmp/awx-tier-run.XXXXXX)   # the redis socket: short path (108-byte limit)
say "AWX $(tar -xzOf "$AWX_TGZ" --wildcards '*/VERSION'), django-ansible-base $DAB_REF, cache $CACHE"

# ---------------------------------------------------------------- stop everything on exit
# Each service runs in a session of its own (setsid), so its pid is also its process group:
# stopping the group ends the workers it forked (uwsgi's, the callback receiver's).
SERVICES=()
TESTS_PID=
stop_services() {
  local name pid signal i
  set +e   # stopping goes on whatever fails
  [ -n "$TESTS_PID" ] && kill -TERM "$TESTS_PID" 2> /dev/null && wait "$TESTS_PID"
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
    read -r name pid signal <<< "${SERVICES[$i]}"
    kill -"$signal" -- "-$pid" 2>/dev/null || continue
    for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL -- "-$pid" 2>/dev/null && say "$name (process group $pid) still running after SIG$signal: killed"
  done
  SERVICES=()
  rm -rf "$RUN"
}
trap stop_services EXIT
trap 'exit 130' INT TERM
# start NAME SIGNAL COMMAND...: SIGNAL is what stops it (uwsgi's master reloads on TERM; INT ends it).
start() {
  local name=$1 signal=$2; shift 2
  setsid "$@" > "$BOX/log/$name.out" 2>&1 < /dev/null {CACHE_LOCK}>&- &
  SERVICES+=("$name $! $signal")
}
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() {  # wait_for WHAT SECONDS COMMAND...
  local what=$1 seconds=$2; shift 2
  for _ in $(seq $((seconds * 2))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  say "$what did not come up in $seconds s; logs in $BOX/log/"; exit 1
}

# ---------------------------------------------------------------- venvs (cached)
APT_DEPS=(build-essential pkg-config libldap2-dev libsasl2-dev libxmlsec1-dev libxmlsec1-openssl libpq-dev
  libxml2-dev libxslt1-dev libffi-dev libssl-dev)
apt_build_deps() {  # what AWX's requirements build from source: python-ldap, xmlsec, uwsgi
  local missing=() package
  for package in "${APT_DEPS[@]}"; do dpkg -s "$package" > /dev/null 2>&1 || missing+=("$package"); done
  [ ${#missing[@]} = 0 ] && return
  say "apt-get install ${missing[*]}"
  logged apt.log apt-get update -qq
  DEBIAN_FRONTEND=noninteractive logged apt.log apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build_awx_venv() {
  apt_build_deps
  rm -rf "$CACHE"; mkdir -p "$CACHE"/{src,dab}
  tar -xzf "$AWX_TGZ" -C "$CACHE/src" --strip-components=1
  rm -f "$CACHE/src/awx/devonly.py"   # as AWX's release package (MANIFEST.in): production mode
  tar -xzf "$DAB_TGZ" -C "$CACHE/dab" --strip-components=1
  "$PY" -m venv "$VENV"
  # AWX pins pip 21.2.4, which has no --dry-run or --report: the venv keeps a newer pip instead
  # (below 25: the pips this tier was verified with).
  logged pip.log "$VENV/bin/pip" install 'pip<25' wheel
  grep -v '^pip==' "$CACHE/src/requirements/requirements.txt" > "$CACHE/requirements.txt"
  logged pip.log "$VENV/bin/pip" install -r "$CACHE/requirements.txt"
  # requirements_git.txt points at git, out of reach here: PyPI's certifi, ansible-runner 2.4.0
  # (June 2024) and python3-saml stand in, and django-ansible-base comes from its tarball.
  local extras saml=()
  extras=$(grep -o 'django-ansible-base\[[^]]*\]' "$CACHE/src/requirements/requirements_git.txt" | head -1)
  grep -q python3-saml "$CACHE/src/requirements/requirements_git.txt" && saml=(python3-saml)
  SETUPTOOLS_SCM_PRETEND_VERSION=$DAB_REF logged pip.log "$VENV/bin/pip" install certifi 'ansible-runner==2.4.0' \
    "${saml[@]}" "$CACHE/dab${extras#django-ansible-base}"
  logged pip.log "$VENV/bin/pip" install --no-deps --no-build-isolation -e "$CACHE/src"
  touch "$CACHE/ready"
}
if [ -f "$CACHE/ready" ]; then step_done "AWX venv (cached)"; else build_awx_venv; step_done "AWX venv"; fi

# pytest beside AWX's venv, not in it: the venv stays exactly AWX's for the install tests.
PYTEST_LIB=$CACHE/pytest-lib
PYTEST_REQUIREMENTS=('pytest==8.*' pluggy iniconfig pygments)
if [ "$(cat "$PYTEST_LIB/ready" 2> /dev/null)" != "${PYTEST_REQUIREMENTS[*]}" ]; then
  rm -rf "$PYTEST_LIB"
  logged pip.log "$VENV/bin/pip" install --target "$PYTEST_LIB" --no-deps "${PYTEST_REQUIREMENTS[@]}"
  echo "${PYTEST_REQUIREMENTS[*]}" > "$PYTEST_LIB/ready"
fi

# ansible-core stands in for the execution environment that runs the playbooks.
# Shared by every AWX source: built under a lock of its own.
exec {ANSIBLE_LOCK}> "$ANSIBLE_VENV.lock"
flock "$ANSIBLE_LOCK"
if [ ! -f "$ANSIBLE_VENV/ready" ]; then
  rm -rf "$ANSIBLE_VENV"; "$PY" -m venv "$ANSIBLE_VENV"
  logged pip-ansible.log "$ANSIBLE_VENV/bin/pip" install 'ansible-core==2.16.*'
  touch "$ANSIBLE_VENV/ready"
fi
flock -u "$ANSIBLE_LOCK"

# ---------------------------------------------------------------- the app, as the README installs it
# The wheel `make dist` builds (from the working tree as it is: tracked and untracked files, not
# ignored ones), installed without dependencies: AWX's venv keeps every package it has.
logged wheel.log make -C "$PROJECT" --no-print-directory dist DIST="$BOX/dist"
WHEEL=$(ls "$BOX"/dist/awx_eventdebug-*.whl)
logged wheel.log "$VENV/bin/pip" install --no-deps --force-reinstall "$WHEEL"
# The README's conf.d file, verbatim.
sed -n '/^# \/etc\/tower\/conf.d\/eventdebug.py/,/^}/p' "$PROJECT/README.md" > "$BOX/etc/conf.d/eventdebug.py"
[ -s "$BOX/etc/conf.d/eventdebug.py" ] || { say "no /etc/tower/conf.d/eventdebug.py block in README.md"; exit 1; }
step_done "wheel"

# ---------------------------------------------------------------- AWX's environment, redis
export AWX_TIER_BOX=$BOX AWX_TIER_REF=$REF AWX_TIER_VENV=$VENV AWX_TIER_WHEEL=$WHEEL
export AWX_TIER_ANSIBLE_BIN=$ANSIBLE_VENV/bin AWX_TIER_REDIS_SOCKET=$RUN/redis.sock
export AWX_TIER_SECRET_KEY_FILE=$CACHE/SECRET_KEY
AWX_TIER_METRICS_PORTS=$(free_port),$(free_port),$(free_port)
export AWX_TIER_METRICS_PORTS
export PATH=$VENV/bin:$PATH DJANGO_SETTINGS_MODULE=awx.settings.production AWX_LOGGING_MODE=file
export AWX_SETTINGS_FILE=$TIER/awx_settings.py AWX_SETTINGS_DIR=$BOX/etc/conf.d/
start redis TERM redis-server --port 0 --unixsocket "$AWX_TIER_REDIS_SOCKET" --unixsocketperm 700 --save '' \
  --appendonly no --dir "$RUN" --logfile "$BOX/log/redis.log"
wait_for redis 10 redis-cli -s "$AWX_TIER_REDIS_SOCKET" ping

# ---------------------------------------------------------------- databases
# The template holds AWX's own migrations (a few minutes), made without the app; each run copies
# it and migrates the app on top, as an admin does on an existing AWX. The template's comment
# names the source and the SECRET_KEY it was migrated with.
template_label() { echo "awx-tier template $KEY $(sha256sum < "$AWX_TIER_SECRET_KEY_FILE" | cut -c1-12)"; }
template_ready() {
  [ -f "$AWX_TIER_SECRET_KEY_FILE" ] && [ "$(psql_value "select shobj_description(oid, 'pg_database')
    from pg_database where datname = '$TEMPLATE_DB'")" = "$(template_label)" ]
}
if template_ready; then
  database_step="database (template cached)"
else
  database_step="database (AWX migrated into the template)"
  say "migrating AWX into the template database $TEMPLATE_DB"
  head -c 48 /dev/urandom | base64 -w0 > "$AWX_TIER_SECRET_KEY_FILE"
  PGOPTIONS="-c client_min_messages=warning" dropdb --if-exists --force "$TEMPLATE_DB"; createdb "$TEMPLATE_DB"
  AWX_TIER_DB=$TEMPLATE_DB AWX_SETTINGS_DIR=$BOX/etc/conf.d-without-app/ logged migrate-awx.log awx-manage migrate --noinput
  # AWX refuses to run a system job without an execution environment.
  AWX_TIER_DB=$TEMPLATE_DB AWX_SETTINGS_DIR=$BOX/etc/conf.d-without-app/ logged migrate-awx.log \
    awx-manage register_default_execution_environments
  psql -X -q -d postgres -c "comment on database $TEMPLATE_DB is '$(template_label)'"
fi
PGOPTIONS="-c client_min_messages=warning" dropdb --if-exists --force "$RUN_DB"; createdb -T "$TEMPLATE_DB" "$RUN_DB"
export AWX_TIER_DB=$RUN_DB
logged migrate.log awx-manage migrate --noinput
step_done "$database_step"

# ---------------------------------------------------------------- AWX's services
WEB_PORT=$(free_port); BARE_PORT=$(free_port); WS_PORT=$(free_port)
export AWX_TIER_WEB_URL=http://127.0.0.1:$WEB_PORT AWX_TIER_BARE_URL=http://127.0.0.1:$BARE_PORT
export AWX_TIER_WS_URL=ws://127.0.0.1:$WS_PORT
start callback_receiver TERM awx-manage run_callback_receiver
# Its process group, for the tests that stop the receiver a while (tests_awx/test_causes.py).
export AWX_TIER_RECEIVER_PID=$!
AWX_TIER_HTTP_PORT=$WEB_PORT AWX_TIER_UWSGI_PROCESSES=2 AWX_TIER_UWSGI_PIDFILE=$RUN/uwsgi.pid \
  start uwsgi INT uwsgi --ini "$TIER/uwsgi.ini"
# The same AWX without the app (an empty conf.d), to compare AWX's own API with and without it.
AWX_SETTINGS_DIR=$BOX/etc/conf.d-without-app/ AWX_TIER_HTTP_PORT=$BARE_PORT AWX_TIER_UWSGI_PROCESSES=1 \
  AWX_TIER_UWSGI_PIDFILE=$RUN/uwsgi-without-app.pid start uwsgi-without-app INT uwsgi --ini "$TIER/uwsgi.ini"
start daphne TERM daphne -b 127.0.0.1 -p "$WS_PORT" --websocket_timeout -1 awx.asgi:channel_layer
ping_ok() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$1/api/v2/ping/")" = 200 ]; }
receiver_started() { grep -q "Callback receiver started" "$BOX/log/callback_receiver.log"; }
wait_for callback_receiver 60 receiver_started
wait_for uwsgi 120 ping_ok "$AWX_TIER_WEB_URL"
wait_for uwsgi-without-app 120 ping_ok "$AWX_TIER_BARE_URL"
port_open() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
wait_for daphne 60 port_open "$WS_PORT"
step_done "services"

# ---------------------------------------------------------------- the tests
# From tests_awx/, not the project root: the tests import the app installed from the wheel. In the
# background, so that a signal to this script stops the tests too (bash's `wait` is interruptible).
(cd "$PROJECT/tests_awx" && exec env PYTHONPATH="$PYTEST_LIB" "$VENV/bin/python" -m pytest -c "$PROJECT/tests_awx/pytest.ini" \
  -p no:cacheprovider --junitxml "$BOX/junit.xml" -o junit_suite_name="awx-$REF" . "$@") &
TESTS_PID=$!
status=0
wait "$TESTS_PID" || status=$?
TESTS_PID=
step_done "tests"
say "total: $(($(date +%s) - T0)) s"
exit $status

#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis servers the tests talk to are up on 127.0.0.1, starting
# them when they are installed but stopped. Says which one is missing when it cannot.
set -u

PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
REDIS_PORT=${REDIS_PORT:-6379}

wait_for() {  # wait_for SECONDS COMMAND...
  local seconds=$1; shift
  for _ in $(seq 1 $((seconds * 4))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
  return 1
}

pg_up() { pg_isready -q -h "$PGHOST" -p "$PGPORT"; }
redis_up() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping | grep -q PONG; }

failed=0

if ! command -v pg_isready >/dev/null; then
  echo "ensure-services: PostgreSQL is not installed (no pg_isready); install it: apt-get install postgresql" >&2
  failed=1
elif ! pg_up; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "ensure-services: PostgreSQL is stopped; starting it"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  if ! wait_for 20 pg_up; then
    echo "ensure-services: PostgreSQL is not answering on $PGHOST:$PGPORT and could not be started" >&2
    failed=1
  fi
fi

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  echo "ensure-services: Redis is not installed (no redis-server/redis-cli); install it: apt-get install redis-server" >&2
  failed=1
elif ! redis_up; then
  echo "ensure-services: Redis is stopped; starting it"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  if ! wait_for 10 redis_up; then
    echo "ensure-services: Redis is not answering on 127.0.0.1:$REDIS_PORT and could not be started" >&2
    failed=1
  fi
fi

[ "$failed" = 0 ] && echo "ensure-services: PostgreSQL ($PGHOST:$PGPORT) and Redis (127.0.0.1:$REDIS_PORT) are up"
exit "$failed"

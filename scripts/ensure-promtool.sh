#!/usr/bin/env bash
# Make sure promtool (Debian's prometheus package) is installed for the tests of contrib/: the
# alert rules and the Grafana dashboard's queries. Installs it with apt when missing; never
# downloads a build of its own.
set -eu

if command -v promtool >/dev/null; then
  echo "ensure-promtool: $(promtool --version 2>&1 | head -n 1) is installed"
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "ensure-promtool: no apt-get here; install promtool (Prometheus 2.x) on PATH" >&2
  exit 1
fi

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

echo "ensure-promtool: installing Debian's prometheus package (for promtool)"
# A fresh machine has no package lists yet; install fails without them.
if ! apt-cache show prometheus >/dev/null 2>&1; then
  $SUDO apt-get update -qq
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus
promtool --version 2>&1 | head -n 1

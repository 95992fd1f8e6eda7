#!/usr/bin/env bash
# Make sure promtool and the Prometheus server (both from Debian's prometheus package) are
# installed for the tests of contrib/ and of GET metrics/: the alert rules, the Grafana
# dashboard's queries, and a real Prometheus scraping two app processes
# (tests/health/test_prometheus_server.py). Installs the package with apt when either is missing;
# never downloads a build of its own.
set -eu

if command -v promtool >/dev/null && command -v prometheus >/dev/null; then
  echo "ensure-promtool: $(promtool --version 2>&1 | head -n 1) and its server are installed"
  exit 0
fi
"$(dirname "$0")/apt-install.sh" ensure-promtool prometheus
promtool --version 2>&1 | head -n 1
prometheus --version 2>&1 | head -n 1

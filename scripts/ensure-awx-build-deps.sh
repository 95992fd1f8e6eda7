#!/usr/bin/env bash
# Make sure the Debian packages that building AWX's requirements.txt needs are installed (the
# `awx_install` nox session builds python-ldap, xmlsec, uwsgi and others from source). Installs the
# missing ones with apt; says what to install where there is no apt-get.
set -eu

PACKAGES="build-essential pkg-config libffi-dev libssl-dev libpq-dev libldap2-dev libsasl2-dev
  libxml2-dev libxslt1-dev libxmlsec1-dev libxmlsec1-openssl"

# shellcheck disable=SC2086  # a list of package names
missing=$(dpkg-query -W -f='${db:Status-Status} ${Package}\n' $PACKAGES 2>/dev/null | awk '$1 == "installed" {print $2}' |
  sort | comm -13 - <(printf '%s\n' $PACKAGES | sort) || true)
if [ -z "$missing" ]; then
  echo "ensure-awx-build-deps: AWX's build dependencies are installed"
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "ensure-awx-build-deps: no apt-get here; install the equivalents of:" $missing >&2
  exit 1
fi

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

echo "ensure-awx-build-deps: installing" $missing
# A fresh machine has no package lists yet; install fails without them.
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null

#!/bin/sh
# Debian packages the tests and benchmarks need: Chromium (driven by Playwright), wrk (the load
# generator) and the PostgreSQL server (the database tests start a throwaway cluster with
# initdb/pg_ctl from /usr/lib/postgresql/*/bin). Installed only when missing; needs root or sudo.
set -eu
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
fc-list 2>/dev/null | grep -qi dejavu || missing="$missing fonts-dejavu-core"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "Missing Debian packages:$missing. Install them as root: apt-get install -y$missing" >&2
  exit 1
fi
echo "Installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null

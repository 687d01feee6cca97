#!/usr/bin/env bash
# Install everything the test suite needs, then run it: `bash scripts/test.sh [pytest args]`.
# System services (Mosquitto 2, PostgreSQL) come from Debian's packages when missing;
# Python packages go into ./.venv. The tests start their own throwaway brokers and
# databases on free loopback ports, so services already running are left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

missing=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v mosquitto_sub >/dev/null 2>&1 || missing+=(mosquitto-clients)  # bench/ compares with it
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
# The pages are tested in Debian's Chromium (Playwright drives it; it never downloads one);
# the CJK fonts make the screenshots readable.
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -d /usr/share/fonts/opentype/noto ] || missing+=(fonts-noto-cjk)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Debian's packages start their own services on install; the tests do not use them.

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PY" -m venv .venv
fi
echo "== installing Python packages"
# `train` brings the CPU build of torch: the training code has smoke tests (no real training).
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev,train]'

echo "== running tests"
exec .venv/bin/python -m pytest "$@"

#!/usr/bin/env bash
# Debian packages used by the integration tests: PostgreSQL server (hub backend tests) and Chromium
# (the web pages' browser tests drive the system chromium with Playwright; Playwright never downloads one).
set -euo pipefail
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium fonts-dejavu-core)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

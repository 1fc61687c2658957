#!/usr/bin/env bash
# Debian packages used by the integration tests: PostgreSQL server (hub backend tests) and Chromium
# (the web pages' browser tests drive the system chromium with Playwright; Playwright never downloads one).
# openssl makes the certificate of the TLS tests.
# With --bench, also PostGIS for the PostgreSQL server: pgstac, an anchor of `make bench`, needs it.
set -euo pipefail
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium fonts-dejavu-core)
command -v openssl >/dev/null || need+=(openssl)
if [ "${1:-}" = "--bench" ]; then
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql
  fi
  major=$(ls /usr/lib/postgresql | sort -n | tail -1)
  ls /usr/share/postgresql/"$major"/extension/postgis.control >/dev/null 2>&1 || need+=("postgresql-$major-postgis-3")
fi
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

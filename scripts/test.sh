#!/usr/bin/env bash
# The test command: installs the system packages the tests need if missing
# (scripts/packages.sh), starts Kafka and MongoDB on 127.0.0.1
# (scripts/services.sh) and installs the client libraries the tests drive
# (scripts/clients.sh) while the tests build, runs `cargo test` against them,
# and stops the services again, whatever the outcome.
# Arguments go to `cargo test` (e.g. `scripts/test.sh --test it sql::`).
# The build's settings are in scripts/lib/test-env.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/test-env.sh
scripts/packages.sh

started=0
services=""
clients=""
services_log=$(mktemp)
clients_log=$(mktemp)
cleanup() {
  if [ -n "$services" ]; then wait "$services" 2>/dev/null || true; fi
  if [ -n "$clients" ]; then wait "$clients" 2>/dev/null || true; fi
  if [ "$started" = 1 ]; then scripts/services.sh down; fi
  rm -f "$services_log" "$clients_log"
}
trap cleanup EXIT
if ! scripts/services.sh running; then
  # The first start installs them (pip), which overlaps the build.
  scripts/services.sh up >"$services_log" 2>&1 &
  services=$!
  started=1
fi

scripts/clients.sh >"$clients_log" 2>&1 &
clients=$!

cargo test --no-run "$@"
if ! wait "$clients"; then
  clients=""
  cat "$clients_log" >&2
  echo "test: the client libraries did not install (scripts/clients.sh); see above" >&2
  exit 1
fi
clients=""
grep '^clients:' "$clients_log" >&2 || true
if [ -n "$services" ]; then
  if ! wait "$services"; then
    services=""
    cat "$services_log" >&2
    echo "test: Kafka and MongoDB did not start (scripts/services.sh up); see above" >&2
    exit 1
  fi
  services=""
  grep '^services:' "$services_log" >&2 || true
fi
cargo test "$@"

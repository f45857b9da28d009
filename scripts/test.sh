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

# Waits for a background step (PID, its log, its log lines' prefix, what
# failed); on failure shows its log and stops.
await() {
  local pid=$1 log=$2 prefix=$3 what=$4
  if ! wait "$pid"; then
    cat "$log" >&2
    echo "test: $what; see above" >&2
    exit 1
  fi
  grep "^$prefix:" "$log" >&2 || true
}

cargo test --no-run "$@"
pid=$clients clients=""
await "$pid" "$clients_log" clients "the client libraries did not install (scripts/clients.sh)"
if [ -n "$services" ]; then
  pid=$services services=""
  await "$pid" "$services_log" services "Kafka and MongoDB did not start (scripts/services.sh up)"
fi
cargo test "$@"

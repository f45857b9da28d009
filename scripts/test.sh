#!/usr/bin/env bash
# The test command: installs the system packages the tests need if missing
# (scripts/packages.sh), starts Kafka and MongoDB on 127.0.0.1
# (scripts/services.sh), runs `cargo test` against them, and stops them again,
# whatever the outcome.
# Arguments go to `cargo test` (e.g. `scripts/test.sh --test kafka_mongo`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/packages.sh
started=0
if ! scripts/services.sh running; then
  scripts/services.sh up >/dev/null
  started=1
fi
cleanup() { if [ "$started" = 1 ]; then scripts/services.sh down; fi; }
trap cleanup EXIT
export KAFKA_BROKERS=${KAFKA_BROKERS:-127.0.0.1:9092}
export MONGO_URI=${MONGO_URI:-mongodb://127.0.0.1:27017}
cargo test "$@"

#!/usr/bin/env bash
# The client libraries the tests drive against `stream --pg` and `--http`, as
# users run them, pinned, into .services/clients (CLIENTS_DIR overrides):
#   - a Python venv: psycopg 3, psycopg2, SQLAlchemy, pandas, asyncpg,
#     prometheus_client, polars with connectorx, and pgcli;
#   - node-postgres (`pg`), for node.
# Installs what is missing and says so; does nothing when all is there.
# scripts/test.sh runs it while the tests build. Needs python3 (with venv),
# node and npm.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${CLIENTS_DIR:-$repo/.services/clients}

PYTHON_PACKAGES=(
  "psycopg[binary]==3.3.9"
  "psycopg2-binary==2.9.13"
  "SQLAlchemy==2.1.9"
  "pandas==3.1.1"
  "asyncpg==0.32.0"
  "prometheus_client==0.26.0"
  "polars==2.1.0"
  "connectorx==0.4.6"
  "pyarrow==26.0.1"
  "pgcli==4.7.1"
)
NODE_PACKAGES=("pg@8.23.1")
# What is installed, as a stamp: a change of a pin reinstalls.
stamp="${PYTHON_PACKAGES[*]} ${NODE_PACKAGES[*]}"

say() { echo "clients: $*" >&2; }

if [ -f "$dir/installed" ] && [ "$(cat "$dir/installed")" = "$stamp" ]; then
  exit 0
fi
for tool in python3 node npm; do
  if ! command -v "$tool" >/dev/null; then
    say "the client tests need $tool; install it (Debian: apt-get install python3-venv nodejs npm)"
    exit 1
  fi
done
say "installing ${PYTHON_PACKAGES[*]} and ${NODE_PACKAGES[*]} into $dir"
rm -rf "$dir"
mkdir -p "$dir"
python3 -m venv "$dir/venv"
"$dir/venv/bin/pip" install --quiet --disable-pip-version-check --no-compile "${PYTHON_PACKAGES[@]}"
(cd "$dir" && npm install --silent --no-audit --no-fund --prefix "$dir" "${NODE_PACKAGES[@]}" >/dev/null)
echo "$stamp" >"$dir/installed"
say "installed"

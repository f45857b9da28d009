#!/usr/bin/env bash
# Kafka and MongoDB for the Kafka/Mongo mode and its tests, on 127.0.0.1.
#
#   scripts/services.sh up       install (pinned) if needed, start both, wait until they answer
#   scripts/services.sh down     stop both (by PID) and delete their temporary data
#   scripts/services.sh status   say what runs where
#   scripts/services.sh running  exit 0 if both run (for scripts)
#   scripts/services.sh kafka PORT DIR   run a Kafka broker of its own in the foreground,
#                                        on 127.0.0.1:PORT with its data in DIR (for tests
#                                        that stop, wipe and restart a broker)
#   scripts/services.sh mongo PORT DIR   the same for a MongoDB server (for tests that
#                                        stop it in the middle of a run)
#
# No real Apache Kafka or mongod can be installed on this project's machines; these two
# speak the protocols (see README, "Kafka/Mongo mode"):
#   - Kafka: the binary of the PyPI package noida-db 0.2.3, run directly (not through its
#     Python wrapper) so that its PID is the server's. Its GLIBC_2.39 warning is harmless.
#   - MongoDB: the PyPI package SecantusDB 0.7.0b3 (secantusd-py).
# To use a real Kafka and MongoDB instead, skip this script and point tweetstream at them
# with --brokers and --uri.
#
# Environment: KAFKA_PORT (9092), MONGO_PORT (27017), SERVICES_DIR (.services under the repo).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${SERVICES_DIR:-$repo/.services}
kafka_port=${KAFKA_PORT:-9092}
mongo_port=${MONGO_PORT:-27017}
venv=$dir/venv
run=$dir/run

NOIDA_VERSION=0.2.3
SECANTUS_VERSION=0.7.0b3

say() { echo "services: $*" >&2; }

install() {
  if [ -x "$venv/bin/secantusd-py" ] && [ -x "$(noida_bin 2>/dev/null)" ]; then
    return
  fi
  say "installing noida-db==$NOIDA_VERSION and SecantusDB==$SECANTUS_VERSION into $venv"
  mkdir -p "$dir"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-compile \
    "noida-db==$NOIDA_VERSION" "SecantusDB==$SECANTUS_VERSION"
}

noida_bin() {
  local site
  site=$("$venv/bin/python" -c 'import noida_db, os; print(os.path.dirname(noida_db.__file__))')
  echo "$site/noida-db"
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_port() {
  local name=$1 port=$2 pid=$3
  for _ in $(seq 300); do
    if port_open "$port"; then
      say "$name is up on 127.0.0.1:$port (pid $pid)"
      return
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      say "$name exited before opening port $port; its log:"
      tail -n 20 "$run/$name.log" >&2 || true
      exit 1
    fi
    sleep 0.1
  done
  say "$name did not open port $port within 30 s; its log:"
  tail -n 20 "$run/$name.log" >&2 || true
  exit 1
}

start() {
  local name=$1 port=$2; shift 2
  if [ -f "$run/$name.pid" ] && kill -0 "$(cat "$run/$name.pid")" 2>/dev/null; then
    say "$name already running (pid $(cat "$run/$name.pid"))"
    return
  fi
  if port_open "$port"; then
    say "port $port is already taken by another process; not starting $name"
    exit 1
  fi
  "$@" >"$run/$name.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$run/$name.pid"
  wait_port "$name" "$port" "$pid"
}

up() {
  install
  mkdir -p "$run"
  local data
  data=$(mktemp -d "${TMPDIR:-/tmp}/tweetstream-services.XXXXXX")
  echo "$data" >"$run/data-dir"
  mkdir -p "$data/kafka" "$data/mongo"
  start kafka "$kafka_port" "$(noida_bin)" start --only kafka --host 127.0.0.1 \
    --kafka-port "$kafka_port" --data-dir "$data/kafka"
  start mongo "$mongo_port" "$venv/bin/secantusd-py" --host 127.0.0.1 --port "$mongo_port" \
    --storage-path "$data/mongo"
  echo "KAFKA_BROKERS=127.0.0.1:$kafka_port"
  echo "MONGO_URI=mongodb://127.0.0.1:$mongo_port"
}

# Stops the named servers: SIGTERM to all at once, then waits up to 5 s for
# them together (each takes 2-4 s to exit) before SIGKILL.
stop() {
  local name pid pids=() names=()
  for name in "$@"; do
    [ -f "$run/$name.pid" ] || continue
    pid=$(cat "$run/$name.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      pids+=("$pid")
      names+=("$name")
    fi
    rm -f "$run/$name.pid"
  done
  for _ in $(seq 50); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  local i
  for i in "${!pids[@]}"; do
    kill -9 "${pids[$i]}" 2>/dev/null || true
    say "${names[$i]} stopped (pid ${pids[$i]})"
  done
}

down() {
  stop kafka mongo
  if [ -f "$run/data-dir" ]; then
    rm -rf "$(cat "$run/data-dir")"
    rm -f "$run/data-dir"
  fi
}

status() {
  for entry in "kafka:$kafka_port" "mongo:$mongo_port"; do
    local name=${entry%%:*} port=${entry##*:}
    if [ -f "$run/$name.pid" ] && kill -0 "$(cat "$run/$name.pid")" 2>/dev/null; then
      echo "$name: running, pid $(cat "$run/$name.pid"), 127.0.0.1:$port"
    elif port_open "$port"; then
      echo "$name: port $port answers, but not a server started by this script"
    else
      echo "$name: not running"
    fi
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  running) [[ $(status) == *"kafka: running"*"mongo: running"* ]] ;;
  kafka)
    [ $# -eq 3 ] || { echo "usage: $0 kafka PORT DIR" >&2; exit 2; }
    install
    mkdir -p "$3"
    exec "$(noida_bin)" start --only kafka --host 127.0.0.1 --kafka-port "$2" --data-dir "$3" ;;
  mongo)
    [ $# -eq 3 ] || { echo "usage: $0 mongo PORT DIR" >&2; exit 2; }
    install
    mkdir -p "$3"
    exec "$venv/bin/secantusd-py" --host 127.0.0.1 --port "$2" --storage-path "$3" ;;
  *) echo "usage: $0 up|down|status|running|kafka PORT DIR|mongo PORT DIR" >&2; exit 2 ;;
esac

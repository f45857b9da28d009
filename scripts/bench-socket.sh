#!/usr/bin/env bash
# Socket-mode throughput: replays N generated tweets (default 1,000,000) as fast
# as the socket takes them into `tweetstream stream`, for the hashtag-only and
# the hashtag+sentiment pipelines, and reports tweets per second and the
# engine's peak RSS, each run after the raw floor (the same replay into a
# reader that only counts newlines) and as a share of it.
#
#   scripts/bench-socket.sh [N] [RUNS]
#
# Each pipeline runs RUNS times (default 3): on a shared 2-core machine, run to
# run differences of 30% are common, so one run says little.
#
# Figures per run: "socket" is N divided by the replay's time from the engine's
# connection to the last byte written (the replay can only send as fast as the
# engine reads, so this is end to end); "per engine CPU-second" is N divided by
# the user+system CPU time of the engine process, i.e. what one core of engine
# work handles; "peak RSS" is the engine's; "steal" is the share of the
# machine's CPU time that the hypervisor gave to other guests during the run
# (its idle seconds at the end included).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
RUNS=${2:-3}
# shellcheck source=scripts/lib/bench.sh
source scripts/lib/bench.sh
echo "generating $N tweets..."
$bin fixtures --out "$work" --count "$N" --seed 7 2>/dev/null
ls -l "$work/tweets.jsonl" | awk '{printf "input: %.0f MB, %.0f bytes per tweet\n", $5/1e6, $5/'"$N"'}'

# CPU time the hypervisor gave to other guests ("steal", from /proc/stat), as a
# share of all CPU time: a run with a high share ran on a busy host.
cpu_ticks() { awk '/^cpu /{print $9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }

run() {
  local name=$1; shift
  local steal0 total0
  read -r steal0 total0 < <(cpu_ticks)
  rm -f "$work/replay.log" "$work/engine.log"
  start_replay "$work/tweets.jsonl"
  /usr/bin/time -f "%M %U %S" -o "$work/rss" $bin stream --connect "$addr" --batch 1s --print-every never \
      --stop-when-idle 3 --format json --top 1 "$@" >"$work/engine.out" 2>"$work/engine.log"
  # The engine stops after 3 empty one-second batches. If the VM stalled the
  # replay that long, the engine is gone before the end: the replay then waits
  # for a new client, so stop it (the run shows fewer records than N).
  if ! grep -q 'replayed [0-9]* tweets' "$work/replay.log"; then
    sleep 1
    kill $replay 2>/dev/null && echo "(the engine stopped before the replay ended: a stalled run)"
  fi
  wait $replay || true
  local rate
  rate=$(grep -o 'replayed [0-9]* tweets in [0-9.]* s ([0-9]*/s)' "$work/replay.log" | grep -o '([0-9]*' | tr -d '(' || true)
  rate=${rate:-0}
  local records
  records=$(python3 -c '
import json,sys
for line in open(sys.argv[1]):
    t=json.loads(line)
    if t["table"]=="batches": print(sum(r[1] for r in t["rows"]))' "$work/engine.out")
  local rss user sys cpu steal1 total1
  read -r rss user sys <"$work/rss"
  read -r steal1 total1 < <(cpu_ticks)
  cpu=$(echo "$user + $sys" | bc -l)
  printf "%-22s records %-9s socket %10.0f tweets/s (%.2f of the floor)   per engine CPU-second %10.0f   peak RSS %5.1f MB   steal %4.1f%%\n" \
    "$name" "$records" "$rate" "$(echo "$rate / $floor_rate" | bc -l)" "$(echo "$records / $cpu" | bc -l)" \
    "$(echo "$rss / 1024" | bc -l)" "$(echo "100 * ($steal1 - $steal0) / ($total1 - $total0 + 1)" | bc -l)"
}

# The raw floor of the socket pipeline: the same replay into a reader that
# only counts newlines (Python's bytes.count, in C), so that the engine's
# rate can be given as a share of what the socket and the replay allow.
floor() {
  rm -f "$work/replay.log"
  start_replay "$work/tweets.jsonl"
  python3 -c '
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
conn = socket.create_connection((host, int(port)))
buf, lines = bytearray(1 << 20), 0
while (n := conn.recv_into(buf)):
    lines += buf.count(b"\n", 0, n)
print(lines)' "$addr" >"$work/floor.out"
  wait $replay || true
  floor_rate=$(grep -o 'replayed [0-9]* tweets in [0-9.]* s ([0-9]*/s)' "$work/replay.log" | grep -o '([0-9]*' | tr -d '(')
  printf "%-22s records %-9s socket %10.0f tweets/s\n" "raw floor" "$(cat "$work/floor.out")" "$floor_rate"
}

# Interleaved: each run measures the floor, then both pipelines.
for _ in $(seq "$RUNS"); do
  floor
  run "hashtags only" --no-sentiment
  run "hashtags + sentiment"
done

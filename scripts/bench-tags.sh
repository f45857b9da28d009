#!/usr/bin/env bash
# Weeks of a live stream, compressed: what a batch costs once the engine holds
# millions of distinct tags. For each N, an engine with a checkpoint is fed N
# tweets that each bring a new tag (as fast as it takes them), then measured:
#   - RSS per tag held (resident memory after the load, less before it, / N);
#   - CPU per idle 1 s batch (user+system time over 20 s without input);
#   - CPU per batch, batch delay and save time at 10,000 new tags/s (30 s),
#     and how much the RSS grew meanwhile (with --max-tags: nothing, once full);
#   - the restart: a new engine on the same checkpoint, until its tables are
#     back (the log's "restored" line).
# The tweets come from a small server of the script's own (python3), so that
# the live phase can follow the load on the same connection.
#
#   scripts/bench-tags.sh [N ...]       default: 1000000 2000000 10000000
#   LIVE_SECONDS=30 IDLE_SECONDS=20     the phases' lengths
#   KEEP_CHECKPOINT=DIR                 keeps each N's checkpoint there (DIR/N.db), to profile restarts
#   ENGINE_FLAGS="--max-tags 100000"    more flags for the engine (and its restart)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bench.sh

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 2000000 10000000)
live_seconds=${LIVE_SECONDS:-30}
idle_seconds=${IDLE_SECONDS:-20}
tick=$(getconf CLK_TCK)

cat >"$work/serve.py" <<'EOF'
# Serves N tweets, each with a new tag, to the first client as fast as it
# reads; then, once the file GO exists, 10,000 more a second; then idles.
import os, socket, sys, time
n, go = int(sys.argv[1]), sys.argv[2]
line = '{"text":"#t%x new","created_at":"Sun Nov 01 06:08:46 +0000 2015"}\n'
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
print(srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
for start in range(0, n, 100_000):
    conn.sendall("".join(line % i for i in range(start, min(n, start + 100_000))).encode())
while not os.path.exists(go):
    time.sleep(0.05)
i, t = n, time.monotonic()
while os.path.exists(go):
    conn.sendall("".join(line % k for k in range(i, i + 1000)).encode())
    i += 1000
    t += 0.1
    time.sleep(max(0.0, t - time.monotonic()))
time.sleep(3600)
EOF

cpu_ms() { awk -v t="$tick" '{print ($14 + $15) * 1000 / t}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
metric() { curl -s "http://$http/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
sql() { curl -s "http://$http/sql" --data-binary "$1"; }

printf '%-9s %8s %9s %12s %12s %11s %11s %12s %10s\n' N load_s bytes/tag idle_cpu_ms live_cpu_ms live_delay live_proc_ms live_rss_MB restart_s
for n in "${sizes[@]}"; do
  rm -f "$work/go" "$work/ck.db"*
  python3 "$work/serve.py" "$n" "$work/go" >"$work/port" &
  pids+=("$!")
  server=$!
  for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
  $bin --log info stream --connect "127.0.0.1:$(cat "$work/port")" --batch 1s --print-every never \
    --http 127.0.0.1:0 --checkpoint "$work/ck.db" ${ENGINE_FLAGS:-} 2>"$work/engine.log" >/dev/null &
  engine=$!
  pids+=("$engine")
  http=$(wait_for "$work/engine.log" 'http://[0-9.:]*' | sed 's#http://##')
  base_rss=$(rss_kb "$engine")
  start=$(date +%s.%N)
  until [ "$(metric tweetstream_records_total)" = "$n" ]; do sleep 0.2; done
  load=$(echo "$(date +%s.%N) - $start" | bc)
  sleep 2
  per_tag=$(( ($(rss_kb "$engine") - base_rss) * 1024 / n ))

  b0=$(metric tweetstream_batches_total); c0=$(cpu_ms "$engine")
  sleep "$idle_seconds"
  b1=$(metric tweetstream_batches_total); c1=$(cpu_ms "$engine")
  idle=$(echo "($c1 - $c0) / ($b1 - $b0)" | bc -l)

  touch "$work/go"
  sleep 3
  b0=$(metric tweetstream_batches_total); c0=$(cpu_ms "$engine"); r0=$(rss_kb "$engine")
  sleep "$live_seconds"
  b1=$(metric tweetstream_batches_total); c1=$(cpu_ms "$engine"); r1=$(rss_kb "$engine")
  rm -f "$work/go"
  live=$(echo "($c1 - $c0) / ($b1 - $b0)" | bc -l)
  recent="select * from batches order by batch_time desc limit $((live_seconds - 2))"
  stats=$(sql "select max(delay_ms), avg(processing_ms) from ($recent)" \
    | python3 -c 'import json,sys; r=json.load(sys.stdin)["rows"][0]; print("%.0f %.1f" % (r[0], r[1]))')
  kill -TERM "$engine"; wait "$engine" || true
  kill "$server" 2>/dev/null || true

  start=$(date +%s.%N)
  $bin --log info stream --connect 127.0.0.1:1 --batch 1s --print-every never \
    --checkpoint "$work/ck.db" ${ENGINE_FLAGS:-} 2>"$work/restart.log" >/dev/null &
  engine=$!
  pids+=("$engine")
  for _ in $(seq 1200); do grep -q 'restored' "$work/restart.log" && break; sleep 0.05; done
  restart=$(echo "$(date +%s.%N) - $start" | bc)
  grep -q 'restored' "$work/restart.log" || { cat "$work/restart.log" >&2; exit 1; }
  kill -TERM "$engine"; wait "$engine" || true
  if [ -n "${KEEP_CHECKPOINT:-}" ]; then
    mkdir -p "$KEEP_CHECKPOINT" && cp "$work/ck.db" "$KEEP_CHECKPOINT/$n.db"
  fi

  printf '%-9s %8.1f %9d %12.1f %12.1f %8s ms %11s %+12.1f %10.1f\n' "$n" "$load" "$per_tag" "$idle" "$live" \
    "${stats% *}" "${stats#* }" "$(echo "($r1 - $r0) / 1024" | bc -l)" "$restart"
done

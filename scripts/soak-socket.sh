#!/usr/bin/env bash
# Socket mode under sustained overload: a looping replay serves generated tweets
# as fast as the engine takes them, for SECONDS, into `tweetstream stream` with
# 1-second batches, a window and a 2-second timer print. Reports what a user of
# a long-running job would watch: whether batches still close on time (their
# scheduling delay), how many records each takes, whether the timer print keeps
# its pace, and whether the engine's memory stays flat.
#
#   scripts/soak-socket.sh [SECONDS] [N]      (defaults: 60 s, 1,000,000 tweets)
#
# Extra engine options can follow in STREAM_ARGS, e.g. STREAM_ARGS=--no-sentiment.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-60}
N=${2:-1000000}
# shellcheck source=scripts/lib/bench.sh
source scripts/lib/bench.sh
echo "generating $N tweets..."
$bin fixtures --out "$work" --count "$N" --seed 7 2>/dev/null

start_replay "$work/tweets.jsonl" --loop

# shellcheck disable=SC2086
$bin stream --connect "$addr" --batch 1s --window 10s --slide 2s --print-every 2s --format json \
  ${STREAM_ARGS:-} >"$work/engine.out" 2>"$work/engine.log" &
engine=$!
pids+=("$engine")
echo "running for $SECONDS_TO_RUN s; engine RSS every 10 s:"
: >"$work/rss"
elapsed=0
while [ "$elapsed" -lt "$SECONDS_TO_RUN" ]; do
  step=$(( SECONDS_TO_RUN - elapsed < 10 ? SECONDS_TO_RUN - elapsed : 10 ))
  sleep "$step"
  elapsed=$(( elapsed + step ))
  rss=$(awk '/VmRSS/{print $2}' "/proc/$engine/status")
  echo "$rss" >>"$work/rss"
  printf "  %4d s  %6.1f MB\n" "$elapsed" "$(echo "$rss / 1024" | bc -l)"
done
kill -INT "$engine"
wait "$engine" || { echo "the engine exited with an error; its log:"; tail -n 20 "$work/engine.log"; exit 1; }

python3 - "$work/engine.out" "$work/rss" <<'PY'
import json, sys
from datetime import datetime
out, rss_path = sys.argv[1], sys.argv[2]
prints, batches = [], []
for line in open(out):
    d = json.loads(line)
    if "query" in d:
        # Whole seconds are written without a fraction.
        t = d["time"] if "." in d["time"] else d["time"] + ".000"
        prints.append(datetime.strptime(t, "%Y-%m-%d %H:%M:%S.%f"))
    elif d.get("table") == "batches":
        batches = d["rows"]  # the last 20 batches, as of the end
# Timed batches have whole-second times; the one Ctrl-C cut short has not. The
# first of them may have begun when the engine connected, mid-interval.
timed = [r for r in batches if len(r[0]) == len("2026-01-01 00:00:00")][1:]
records = [r[1] for r in timed]
delays = [r[5] for r in timed]
gaps = [(b - a).total_seconds() for a, b in zip(prints, prints[1:])]
rss = [int(x) / 1024 for x in open(rss_path).read().split()]
if timed:
    print(f"last {len(timed)} timed batches: records {min(records):,}–{max(records):,} per 1 s batch, "
          f"scheduling delay {min(delays):.1f}–{max(delays):.1f} ms")
else:
    print("no timed batch closed: run longer")
if gaps:
    print(f"timer print (--print-every 2s): {len(prints)} prints, gaps {min(gaps):.3f}–{max(gaps):.3f} s")
else:
    print(f"timer print (--print-every 2s): {len(prints)} prints")
if rss:
    print(f"engine RSS: {min(rss):.1f}–{max(rss):.1f} MB over the run")
PY

#!/usr/bin/env bash
# What `stream --checkpoint` costs per batch: a looping replay into an engine
# with 1-second batches, a 10-second window sliding every 2 s, and a
# checkpoint, for SECONDS each in two cases:
#   few tags:  generated tweets (about 20 distinct hashtags) as fast as the
#              engine takes them;
#   many tags: 100,000 tweets/s, each with a hashtag drawn from 1,000,000, so
#              that each batch saves about 95,000 distinct tags.
# Each case runs once without and once with the checkpoint. Reports, from the
# engine's /metrics: records per batch, the mean batch processing time, the
# mean time of a save (one record appended), and the checkpoint file's
# size at the end.
#
#   scripts/bench-checkpoint.sh [SECONDS]      (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-30}
# shellcheck source=scripts/lib/bench.sh
source scripts/lib/bench.sh
$bin fixtures --out "$work" --count 200000 --seed 7 2>/dev/null
python3 - "$work/many.jsonl" <<'PY'
import json, random, sys
random.seed(7)
with open(sys.argv[1], "w") as f:
    for i in range(1_000_000):
        day = 1 + i % 5
        f.write(json.dumps({"text": f"#t{random.randrange(1_000_000)} flight was great",
                            "created_at": f"Sun Nov 0{day} 06:08:46 +0000 2015"}) + "\n")
PY

# run NAME CHECKPOINT(yes|no) FILE [REPLAY OPTIONS...]
run() {
  local name=$1 with=$2 file=$3; shift 3
  start_replay "$file" --loop "$@"
  rm -f "$work/state.db"
  local checkpoint=()
  [ "$with" = yes ] && checkpoint=(--checkpoint "$work/state.db")
  $bin stream --connect "$addr" --batch 1s --window 10s --slide 2s --print-every never \
    "${checkpoint[@]}" --http 127.0.0.1:0 >/dev/null 2>"$work/engine.log" &
  local engine=$!
  pids+=("$engine")
  local http
  http=$(wait_for "$work/engine.log" 'http://[0-9.:]*' | sed 's|http://||')
  sleep "$SECONDS_TO_RUN"
  curl -s "http://$http/metrics" >"$work/metrics"
  kill -INT "$engine"; wait "$engine" || true
  kill "$replay"; wait "$replay" 2>/dev/null || true
  python3 - "$name" "$work/metrics" "$work/state.db" <<'PY'
import os, sys
name, metrics, db = sys.argv[1:]
m = {}
for line in open(metrics):
    if line.startswith("#"):
        continue
    key, value = line.rsplit(" ", 1)
    m[key] = float(value)
batches = m["tweetstream_batches_total"]
saves = m["tweetstream_checkpoint_save_seconds_count"]
line = (f"{name}: {batches:.0f} batches, {m['tweetstream_records_total'] / batches:,.0f} records and "
        f"{1e3 * m['tweetstream_batch_processing_seconds_sum'] / batches:.1f} ms of processing per batch")
if saves:
    line += (f"; save {1e3 * m['tweetstream_checkpoint_save_seconds_sum'] / saves:.2f} ms per batch, "
             f"checkpoint {os.path.getsize(db) / 1e3:,.0f} kB")
print(line)
PY
}

run "few tags, no checkpoint" no "$work/tweets.jsonl"
run "few tags, checkpoint   " yes "$work/tweets.jsonl"
run "many tags, no checkpoint" no "$work/many.jsonl" --rate 100000
run "many tags, checkpoint   " yes "$work/many.jsonl" --rate 100000

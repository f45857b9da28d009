#!/usr/bin/env bash
# Kafka/Mongo mode throughput on N generated tweets (default 1,000,000): `load` of a
# Parquet file into MongoDB, `produce` from MongoDB to Kafka, and `stream --kafka`
# consuming the topic (hashtags and sentiment), once without and once with results
# stored exactly once in MongoDB (`--results`). Starts the services if needed.
#
#   scripts/bench-lab.sh [N]
#
# Load and produce rates are rows over the command's own wall time. The consume
# rate is records over the 100 ms batches from the first that carried records to the
# last: the engine's processing plus the time the records took to arrive, without
# the consumer-group join before the first record or the idle seconds that end the
# run (see the printed breakdown). It is a lower bound, to within one batch.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
work=$(mktemp -d)
started=0
if ! scripts/services.sh running; then
  scripts/services.sh up >/dev/null
  started=1
fi
cleanup() { rm -rf "$work"; if [ "$started" = 1 ]; then scripts/services.sh down; fi; }
trap cleanup EXIT

cargo build --release --quiet
bin=target/release/tweetstream
$bin fixtures --out "$work" --count "$N" --kind parquet 2>/dev/null
topic="bench_$(date +%s)"

t0=$(date +%s.%N)
$bin load "$work/tweets.parquet" --db bench --collection tweets --mode overwrite 2>"$work/load.log"
t1=$(date +%s.%N)
$bin produce --db bench --collection tweets --topic "$topic" --partitions 2 2>"$work/produce.log"
t2=$(date +%s.%N)
# Each 100 ms batch prints its own row of the batch log.
per_batch=(--batch 100ms --print-every batch --print-sql 'select * from batches order by batch_time desc limit 1'
  --stop-when-idle 30 --format json)
$bin stream --kafka 127.0.0.1:9092 --topic "$topic" --group "$topic" "${per_batch[@]}" \
  >"$work/stream.out" 2>"$work/stream.log"
t3=$(date +%s.%N)
$bin stream --kafka 127.0.0.1:9092 --topic "$topic" --group "${topic}_results" "${per_batch[@]}" \
  --results mongodb://127.0.0.1:27017 --results-db bench >"$work/results.out" 2>"$work/results.log"
t4=$(date +%s.%N)

tail -n 1 "$work/load.log" | head -c 300; echo
tail -n 1 "$work/produce.log" | head -c 300; echo
python3 - "$work/stream.out" "$work/results.out" "$N" "$t0" "$t1" "$t2" "$t3" "$t4" <<'PY'
import json, sys
out, res, n, t0, t1, t2, t3, t4 = sys.argv[1], sys.argv[2], int(sys.argv[3]), *map(float, sys.argv[4:])
print(f"load     {n / (t1 - t0):12,.0f} rows/s      ({t1 - t0:.1f} s)")
print(f"produce  {n / (t2 - t1):12,.0f} messages/s  ({t2 - t1:.1f} s)")
for name, path, wall in [("consume", out, t3 - t2), ("+results", res, t4 - t3)]:
    rows = [r for l in open(path) if "query" in (d := json.loads(l)) for r in d["rows"]]
    records = sum(r[1] for r in rows)
    busy = [i for i, r in enumerate(rows) if r[1] > 0]  # 100 ms batches that carried records
    span = busy[-1] - busy[0] + 1 if busy else 1
    stored_ms = max(r[4] for r in rows)
    if records != n:
        print(f"{name}: counted {records} records of {n}: the rate below is not for the whole topic")
    print(f"{name:8} {records / (span * 0.1):12,.0f} records/s   ({records} records in {span} batches of 100 ms,"
          f" {len(busy)} of them with records; slowest batch {stored_ms:.0f} ms; run {wall:.1f} s including group join and 3 s idle)")
PY

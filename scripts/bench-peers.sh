#!/usr/bin/env bash
# tweetstream against the stream processors people would use instead, on the
# same file and the same two jobs, in tweets per CPU-second (user + system
# time of every process of the job), each answer checked against the others:
#   - hashtags: the Spark job's rule (`text.split(" ")`, words starting with
#     "#", lowercased), counted per tag (`stream --hashtags spark
#     --no-sentiment`);
#   - VADER per day: each tweet's compound score, summed and counted per UTC
#     day (`stream --hashtags spark`, VADER being the default model).
# The peers: Bytewax 0.21.1 (with vaderSentiment 3.3.2), and with --pathway
# Pathway 0.33.0 too, installed from PyPI into a venv under
# target/bench-peers (once). The input: N lines of `tweetstream fixtures
# --kind lab` ({"tweet","date"}, ~90 bytes, dates in the lab's three forms).
#
#   scripts/bench-peers.sh [--pathway] [N] [RUNS]    default: 1000000 lines, 1 run
#
# Prints one line per job and engine, then the ratios of tweetstream to each
# peer. Runs are interleaved (tweetstream, then each peer, per run).
set -euo pipefail
cd "$(dirname "$0")/.."

pathway=0
if [ "${1:-}" = "--pathway" ]; then
  pathway=1
  shift
fi
n=${1:-1000000}
runs=${2:-1}

source scripts/lib/bench.sh

venv=target/bench-peers/venv
peers=("bytewax==0.21.1" "vaderSentiment==3.3.2")
[ "$pathway" = 1 ] && peers+=("pathway==0.33.0")
stamp="${peers[*]}"
if [ ! -f "$venv/installed" ] || ! grep -qxF "$stamp" "$venv/installed"; then
  echo "bench-peers: installing ${peers[*]} into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${peers[@]}"
  echo "$stamp" >"$venv/installed"
fi

input="$work/lab.jsonl"
$bin --log warn fixtures --count "$n" --kind lab --seed 7 --out "$work" >/dev/null
echo "input: $n lines, $(($(stat -c %s "$input") / n)) bytes each on average" >&2

# cpu_of OUT CMD...: runs CMD; writes its user+system CPU seconds (children
# included) to OUT.
cpu_of() {
  local out=$1
  shift
  /usr/bin/time -f "%U %S" -o "$out.time" "$@" >"$out.stdout" 2>"$out.stderr" || {
    echo "failed: $*" >&2
    cat "$out.stderr" >&2
    exit 1
  }
  awk '{printf "%.3f\n", $1 + $2}' "$out.time" >"$out"
}

# check JOB DIR: every engine's answer for JOB equals tweetstream's.
check() {
  "$venv/bin/python" - "$1" "$2" <<'EOF'
import csv, json, sys, glob, os
job, dir = sys.argv[1:3]
ours = {}
if job == "tags":
    for row in csv.DictReader(open(os.path.join(dir, "tweetstream", "tag_totals.csv"))):
        ours[row["tag"]] = int(row["count"])
else:
    for row in csv.DictReader(open(os.path.join(dir, "tweetstream", "sentiment_by_day.csv"))):
        ours[row["date"]] = [float(row["score_sum"]), int(row["score_count"])]
for path in glob.glob(os.path.join(dir, "*.json")):
    theirs = json.load(open(path))
    name = os.path.basename(path)
    if job == "tags":
        assert theirs == ours, f"{name}: tag counts differ from tweetstream's"
    else:
        assert sorted(theirs) == sorted(ours), f"{name}: days differ"
        for day, (s, c) in theirs.items():
            assert c == ours[day][1], f"{name}: {day} count {c} against {ours[day][1]}"
            assert abs(s - ours[day][0]) <= 1e-9 * max(1.0, abs(s)) + 1e-9 * c, f"{name}: {day} sum {s} against {ours[day][0]}"
EOF
}

declare -A total
engines=(tweetstream bytewax)
[ "$pathway" = 1 ] && engines+=(pathway)
for run in $(seq "$runs"); do
  for job in tags vader; do
    dir="$work/$job.$run"
    mkdir -p "$dir"
    flags=(--hashtags spark)
    [ "$job" = tags ] && flags+=(--no-sentiment)
    cpu_of "$dir/tweetstream.cpu" $bin --log warn stream --file "$input" "${flags[@]}" \
      --print-every never --out "$dir/tweetstream"
    cpu_of "$dir/bytewax.cpu" "$venv/bin/python" scripts/peers/bytewax_jobs.py "$job" "$input" "$dir/bytewax.json"
    if [ "$pathway" = 1 ]; then
      cpu_of "$dir/pathway.cpu" "$venv/bin/python" scripts/peers/pathway_jobs.py "$job" "$input" "$dir/pathway.json"
    fi
    check "$job" "$dir"
    for e in "${engines[@]}"; do
      cpu=$(cat "$dir/$e.cpu")
      printf '%-6s %-8s run %d: %8.3f CPU-s %12.0f tweets per CPU-second\n' \
        "$job" "$e" "$run" "$cpu" "$(echo "$n / $cpu" | bc -l)"
      total[$job.$e]=$(echo "${total[$job.$e]:-0} + $cpu" | bc -l)
    done
  done
done
echo "answers checked: every engine's tag counts and per-day sums and counts equal tweetstream's"
for job in tags vader; do
  for e in "${engines[@]:1}"; do
    printf '%-6s tweetstream / %-8s %6.1fx per CPU-second (%d runs)\n' \
      "$job" "$e" "$(echo "${total[$job.$e]} / ${total[$job.tweetstream]}" | bc -l)" "$runs"
  done
done

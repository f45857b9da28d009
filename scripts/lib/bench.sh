# What the benchmark scripts share; each sources it after `cd`-ing to the
# repository root. It builds the release binary (`$bin`), makes a work
# directory (`$work`) that is removed on exit together with every background
# process whose pid is added to `pids`, and provides:
#   wait_for FILE PATTERN      prints the first match of PATTERN in FILE, or
#                              fails with the file's contents after 10 s;
#   start_replay FILE [OPT...] starts `tweetstream replay FILE` on a free port,
#                              logging to $work/replay.log; sets `replay` (its
#                              pid) and `addr` (where it listens).

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --quiet
bin=target/release/tweetstream

wait_for() {
  local found
  for _ in $(seq 200); do
    found=$(grep -o "$2" "$1" 2>/dev/null | head -1 || true)
    [ -n "$found" ] && { echo "$found"; return; }
    sleep 0.05
  done
  echo "no '$2' in $1 after 10 s:" >&2; cat "$1" >&2; exit 1
}

start_replay() {
  local file=$1; shift
  $bin --log info replay "$file" --listen 127.0.0.1:0 "$@" 2>"$work/replay.log" &
  replay=$!
  pids+=("$replay")
  addr=$(wait_for "$work/replay.log" 'listening on [0-9.:]*' | awk '{print $3}')
}

#!/bin/bash
# spare-core.sh BIN [ROUNDS]: is there CPU left beside the applier? `bench ingest` over TCP
# (100,000 agents, the morning, no roster) plain and beside a load that keeps 20% and 35%
# of a core busy (a Python loop reading a 256 MiB buffer, 10 ms periods), interleaved.
# If the rate holds with the load, a thread of the daemon's own could use that room
# (BENCHMARKS.md session 30).
set -eu
BIN=$1; ROUNDS=${2:-3}
LOAD=$(mktemp --suffix .py)
trap 'rm -f "$LOAD"' EXIT
cat > "$LOAD" <<'PY'
import random, sys, time
duty, period = float(sys.argv[1]), 0.01
buf = bytearray(256 << 20)
idx = [random.randrange(0, len(buf)) for _ in range(1 << 16)]
end_at = time.time() + float(sys.argv[2])
while time.time() < end_at:
    t0 = time.perf_counter()
    s = 0
    while time.perf_counter() - t0 < period * duty:
        for i in idx[:512]:
            s += buf[i]
        random.shuffle(idx[:64])
    time.sleep(period * (1 - duty))
PY
for i in $(seq 1 "$ROUNDS"); do for d in 0 0.2 0.35; do
  DP=
  if [ "$d" != 0 ]; then python3 "$LOAD" "$d" 100 & DP=$!; fi
  r=$("$BIN" bench ingest --clock event --agents 100000 --teams 2000 --events 3000000 --runs 3 --modes tcp 2>&1 | grep -E '^\| tcp ')
  if [ -n "$DP" ]; then kill "$DP"; fi
  echo "== round $i, load $d of a core: $r"
done; done

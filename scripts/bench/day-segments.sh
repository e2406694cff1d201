#!/bin/bash
# day-segments.sh BIN N [INPUT]: replays INPUT (default day.ndjson) without and with the
# roster, alternated N times on this machine (not pinned), keeping each replay's progress
# lines in $DATA/seg-{without,with}-I.txt; then segments.py prints the time of each part of
# the day and the ratio by round (BENCHMARKS.md, session 31).
set -eu
BIN=$1; N=$2; IN=${3:-day.ndjson}; cd "${DATA:-/tmp/rr}"
for i in $(seq 1 "$N"); do
  for c in without with; do
    FLOORWATCH_PROGRESS=1 "$BIN" replay --config "$c.toml" "$IN" 2>&1 >/dev/null | awk '/lines\/s/ {print $2, $4, $8}' > "seg-$c-$i.txt"
  done
done
python3 "$(dirname "$0")/segments.py" seg "$N"

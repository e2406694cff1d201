#!/bin/bash
# pair-builds.sh A B CONF N INPUT: replays with builds A and B at the same time, one per
# core, swapped each round; prints B's time over A's for each round.
set -eu
A=$1; B=$2; CONF=$3; N=$4; IN=$5; cd "${DATA:-/tmp/rr}"
secs() { grep -o '[0-9.]*s reading and applying' "$1" | grep -o '^[0-9.]*'; }
for i in $(seq 1 "$N"); do
  if [ $((i % 2)) = 1 ]; then CA=0; CB=1; else CA=1; CB=0; fi
  FLOORWATCH_PROGRESS=1 taskset -c $CA "$A" replay -c "$CONF" "$IN" 2>a.err >/dev/null &
  P1=$!
  FLOORWATCH_PROGRESS=1 taskset -c $CB "$B" replay -c "$CONF" "$IN" 2>b.err >/dev/null &
  P2=$!
  wait $P1 $P2
  TA=$(secs a.err); TB=$(secs b.err)
  echo "round $i: A $TA s, B $TB s, B/A time $(python3 -c "print(round($TB/$TA,3))")"
done

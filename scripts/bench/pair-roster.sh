#!/bin/bash
# pair-roster.sh BIN N INPUT: replays with and without the roster at the same time, one per
# core, swapped each round; prints the rate ratio (with / without) of each round.
set -eu
BIN=$1; N=$2; IN=$3; cd "${DATA:-/tmp/rr}"
secs() { grep -o '[0-9.]*s reading and applying' "$1" | grep -o '^[0-9.]*'; }
for i in $(seq 1 "$N"); do
  if [ $((i % 2)) = 1 ]; then A=0; B=1; else A=1; B=0; fi
  FLOORWATCH_PROGRESS=1 taskset -c $A "$BIN" replay -c with.toml "$IN" 2>w.err >/dev/null &
  P1=$!
  FLOORWATCH_PROGRESS=1 taskset -c $B "$BIN" replay -c without.toml "$IN" 2>wo.err >/dev/null &
  P2=$!
  wait $P1 $P2
  W=$(secs w.err); WO=$(secs wo.err)
  echo "round $i: with $W s, without $WO s, rate ratio $(python3 -c "print(round($WO/$W,3))")"
done

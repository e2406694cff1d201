#!/bin/bash
# seq-roster.sh BIN N INPUT [CORE]: replays with and without the roster one after the other
# on one core, N each; prints each round, then the minima and medians.
# PREWARM_GB=G (default 0: off) touches and frees G GiB before each replay, so that the
# replay's memory is not the VM's cold pages (see scripts/bench/README.md).
set -eu
BIN=$1; N=$2; IN=$3; CORE=${4:-0}; cd "${DATA:-/tmp/rr}"
secs() { grep -o '[0-9.]*s reading and applying' "$1" | grep -o '^[0-9.]*'; }
W=(); WO=()
for i in $(seq 1 "$N"); do
  for c in with without; do
    if [ "${PREWARM_GB:-0}" != 0 ]; then python3 -c "b = b'\\x01' * (${PREWARM_GB} << 30)"; fi
    FLOORWATCH_PROGRESS=1 taskset -c "$CORE" "$BIN" replay -c $c.toml "$IN" 2>s.$c.err >/dev/null
    if [ $c = with ]; then W+=("$(secs s.with.err)"); else WO+=("$(secs s.without.err)"); fi
  done
  echo "round $i: with ${W[-1]} without ${WO[-1]} load $(cut -d' ' -f1 /proc/loadavg)"
done
python3 -c "
import statistics as s
w=[float(x) for x in '${W[*]}'.split()]; wo=[float(x) for x in '${WO[*]}'.split()]
print('min with',min(w),'min without',min(wo),'rate ratio of minima',round(min(wo)/min(w),3),
      'of medians',round(s.median(wo)/s.median(w),3))"

#!/bin/bash
# huge-pages.sh BIN N INPUT [with|without]: one build, glibc.malloc.hugetlb at 1 then 0,
# alternated on core 0; prints each one's ingest seconds and maximum resident memory.
set -eu
BIN=$1; N=$2; IN=$3; C=${4:-with}; cd "${DATA:-/tmp/rr}"
for i in $(seq 1 "$N"); do
  line="round $i:"
  for t in 1 0; do
    GLIBC_TUNABLES=glibc.malloc.hugetlb=$t FLOORWATCH_PROGRESS=1 \
      /usr/bin/time -f "%M" taskset -c 0 "$BIN" replay -c "$C.toml" "$IN" 2>t.err >/dev/null
    s=$(grep -o '[0-9.]*s reading and applying' t.err | grep -o '^[0-9.]*')
    line="$line hugetlb=$t ${s}s $(tail -1 t.err)KB"
  done
  echo "$line load $(cut -d' ' -f1 /proc/loadavg)"
done

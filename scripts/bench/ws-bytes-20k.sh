#!/bin/bash
# ws-bytes-20k.sh BIN LABEL [SIM]: what one wallboard receives on a 20,000-agent floor of 400
# teams with the simulator's roster, fed live (SIM simulate, default BIN) with long_aux at
# 60 s so that alerts fire and resolve every second: the bytes of 60 s of /ws after 150 s of
# feed, by frame type and delta key (wsrec.mjs). Ports 19500-19501 on 127.0.0.1; it stops
# what it started. BENCHMARKS.md, session 39.
set -u
BIN=$1; LABEL=$2; SIM=${3:-$1}
HERE=$(cd "$(dirname "$0")" && pwd)
D=${TMPDIR:-/tmp}/ws-bytes-$LABEL; rm -rf "$D"; mkdir -p "$D"; cd "$D"
TODAY=$(TZ=Pacific/Honolulu date +%F)
"$SIM" simulate --agents 20000 --teams 400 --timezone Pacific/Honolulu --start "${TODAY}T08:00:00-10:00" \
  --duration 10h --roster roster.csv --out /dev/null > /dev/null
cat > fw.toml <<T
[server]
http = "127.0.0.1:19500"
tcp = "127.0.0.1:19501"
[floor]
timezone = "Pacific/Honolulu"
[roster]
file = "roster.csv"
[alerts.long_aux]
max_aux_secs = 60
[journal]
enabled = false
T
"$BIN" serve --config fw.toml > daemon.log 2>&1 & DP=$!
sleep 3
"$SIM" simulate --live --tcp 127.0.0.1:19501 --agents 20000 --teams 400 --timezone Pacific/Honolulu --seed 7 > sim.log 2>&1 & SP=$!
sleep 150
node "$HERE/wsrec.mjs" ws://127.0.0.1:19500/ws 60 "$LABEL" > ws.out 2>&1
kill $SP $DP; sleep 1; kill -9 $SP $DP 2>/dev/null
head -1 ws.out

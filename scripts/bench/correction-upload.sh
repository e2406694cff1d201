#!/bin/bash
# A correction uploaded mid-day at 100,000 agents (BENCHMARKS.md, session 35).
# Usage: correction-upload.sh BINARY [DIR]   (DIR holds the inputs; made there if missing)
# Starts BINARY's daemon (event clock, no journal, 127.0.0.1:18090/17090), PUTs the day's
# roster, sends three simulated hours over TCP, waits until the ingest counts stop moving,
# then PUTs and times a team's correction (50 agents' days, a huddle 10:00-10:30 added) and
# the whole floor's (every agent's day with the huddle).
set -euo pipefail
BIN=$1
DIR=${2:-/tmp/correction-upload}
mkdir -p "$DIR"
if [ ! -f "$DIR/ev.ndjson" ]; then
  "$BIN" simulate --agents 100000 --teams 2000 --duration 3h --start 2026-11-23T08:00:00Z \
    --roster "$DIR/r.csv" --out "$DIR/ev.ndjson"
fi
if [ ! -f "$DIR/r2.csv" ]; then
  python3 - "$DIR" <<'PY'
import collections, sys
d = sys.argv[1]
rows = collections.defaultdict(list)
with open(f"{d}/r.csv") as f:
    head = f.readline()
    for line in f:
        rows[line.split(",", 1)[0]].append(line)
agents = sorted(rows)
huddle = "{},2026-11-23T10:00:00Z,2026-11-23T10:30:00Z,huddle\n"
for name, some in (("r2.csv", agents), ("r3.csv", agents[:50])):
    with open(f"{d}/{name}", "w") as o:
        o.write(head)
        for a in some:
            o.writelines(rows[a])
            o.write(huddle.format(a))
PY
fi
printf '[server]\nhttp = "127.0.0.1:18090"\ntcp = "127.0.0.1:17090"\nclock = "event"\n' > "$DIR/up.toml"
"$BIN" serve --config "$DIR/up.toml" --no-journal > "$DIR/daemon.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
sleep 2
put() {
  curl -s -o "$DIR/answer.json" -w "%{http_code} %{time_total} s" -X PUT -H 'Content-Type: text/csv' \
    --data-binary @"$1" http://127.0.0.1:18090/api/v1/roster
}
echo "day roster: $(put "$DIR/r.csv")"
python3 - "$DIR/ev.ndjson" <<'PY'
import json, socket, sys, time, urllib.request
s = socket.create_connection(("127.0.0.1", 17090))
with open(sys.argv[1], "rb") as f:
    while b := f.read(1 << 20):
        s.sendall(b)
s.close()
last = -1
while True:
    time.sleep(2)
    url = "http://127.0.0.1:18090/api/v1/snapshot?team=none&agents=false"
    j = json.load(urllib.request.urlopen(url))
    n = sum(j["ingest"].values())
    if n == last:
        break
    last = n
print("fed", j["ingest"])
PY
echo "team correction: $(put "$DIR/r3.csv") $(head -c 100 "$DIR/answer.json")"
echo "floor correction: $(put "$DIR/r2.csv") $(head -c 100 "$DIR/answer.json")"

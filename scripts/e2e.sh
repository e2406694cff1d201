#!/usr/bin/env bash
# Wallboard end-to-end: the real daemon (demo floor, wall clock) and headless Chromium
# driven by playwright-core (tests/e2e). Screenshots land in artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p artifacts
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HTTP=$(port); TCP=$(port); QHTTP=$(port); QTCP=$(port)
BIN=target/debug/floorwatch
# The floor's clock at about 11:00 whenever this runs: the demo floor's shifts start at
# 08:00 local by day and two hours back otherwise, so its floor, peaks and alerts differ
# with the hour (the 4K layout test once passed at night and failed by day). Etc/GMT-N
# is UTC+N.
OFF=$(( (11 - 10#$(date -u +%H) + 36) % 24 - 12 ))
if [ "$OFF" -ge 0 ]; then TZNAME="Etc/GMT-$OFF"; else TZNAME="Etc/GMT+$(( -OFF ))"; fi
# All-day peak and a short hold, so the aux_cluster banner test need not wait for 09:30.
# The page from this checkout's web/ (a binary built elsewhere embeds another's).
cat > artifacts/e2e.toml <<TOML
[server]
web_dir = "$PWD/web"
[floor]
timezone = "$TZNAME"
[peak]
windows = ["00:00-24:00"]
[alerts.aux_cluster]
hold_secs = 2
TOML
[ -x "$BIN" ] || cargo build --locked
start() {
  "$BIN" serve --config artifacts/e2e.toml --demo --no-journal --http "127.0.0.1:$HTTP" --tcp "127.0.0.1:$TCP" >>artifacts/e2e-daemon.log 2>&1 &
  echo $! > artifacts/e2e-daemon.pid
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$HTTP/readyz" >/dev/null && return 0; sleep 0.1; done
  echo "daemon did not become ready" >&2; return 1
}
stop() {
  [ -f artifacts/e2e-daemon.pid ] && kill "$(cat artifacts/e2e-daemon.pid)" 2>/dev/null || true
  [ -f artifacts/e2e-quiet.pid ] && kill "$(cat artifacts/e2e-quiet.pid)" 2>/dev/null || true
  sleep 0.3
}
trap stop EXIT
start
# A second daemon with no demo feed (the stale-feed test gives it one old event) and a
# 30-minute window instead of 15m/60m (the page must name it, not show dashes).
cat > artifacts/e2e-quiet.toml <<TOML
[server]
web_dir = "$PWD/web"
[floor]
windows = ["30m", "today", "peak_today"]
TOML
"$BIN" serve --config artifacts/e2e-quiet.toml --no-journal --http "127.0.0.1:$QHTTP" --tcp "127.0.0.1:$QTCP" >>artifacts/e2e-quiet.log 2>&1 &
echo $! > artifacts/e2e-quiet.pid
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$QHTTP/readyz" >/dev/null && break; sleep 0.1; done
export FLOORWATCH_QUIET_URL="http://127.0.0.1:$QHTTP"
(cd tests/e2e && npm ci --no-audit --no-fund --silent)
export FLOORWATCH_URL="http://127.0.0.1:$HTTP"
# sources.test.mjs starts its own daemon (with a platform source) from this binary.
export FLOORWATCH_BIN="$PWD/$BIN"
# The reconnect test stops and restarts the daemon through these.
export FLOORWATCH_STOP_CMD="kill \$(cat $PWD/artifacts/e2e-daemon.pid)"
export FLOORWATCH_START_CMD="$PWD/$BIN serve --config $PWD/artifacts/e2e.toml --demo --no-journal --http 127.0.0.1:$HTTP --tcp 127.0.0.1:$TCP >>$PWD/artifacts/e2e-daemon.log 2>&1 & echo \$! > $PWD/artifacts/e2e-daemon.pid"
export FLOORWATCH_RESTART_CMD="$FLOORWATCH_STOP_CMD; sleep 2; $FLOORWATCH_START_CMD"
(cd tests/e2e && node --test --test-concurrency=1 ./*.test.mjs)

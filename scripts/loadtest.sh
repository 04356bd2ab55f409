#!/usr/bin/env bash
# HTTP load test of the search API with wrk on loopback, and the server's memory.
#
#   scripts/loadtest.sh                 # the bundled real data (6,214 lots)
#   LOTS=1000000 scripts/loadtest.sh    # N synthetic lots drawn from the real titles (anjia synth)
#
# Needs wrk (apt-get install wrk). Builds the release binary, prepares a database and index in a
# temporary directory, starts `anjia serve` on 127.0.0.1:$PORT, runs wrk (2 threads, 32
# connections, 30 s) over a rotation of search URLs, and prints RSS (VmRSS now, VmHWM peak).
# Only loopback traffic; the run is bounded in time and stops the server at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
LOTS=${LOTS:-0}
PORT=${PORT:-18080}
DURATION=${DURATION:-30s}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
cargo build --release -p anjia
BIN=${CARGO_TARGET_DIR:-target}/release/anjia
WORK=$(mktemp -d)
trap 'kill "${PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
export ANJIA_DATABASE_URL="sqlite://$WORK/anjia.db" ANJIA_INDEX_DIR="$WORK/index" ANJIA_LISTEN="127.0.0.1:$PORT" ANJIA_LOG=warn
if [ "$LOTS" -gt 0 ]; then
  export ANJIA_IMPORT_BUNDLED=false
  "$BIN" synth --count "$LOTS" --output "$WORK/synth.jsonl"
  /usr/bin/time -f "import: %e s, peak RSS %M KiB" "$BIN" import jsonl "$WORK/synth.jsonl"
  rm -f "$WORK/synth.jsonl"
fi
start=$(date +%s.%N)
"$BIN" serve & PID=$!
until curl -sf "http://127.0.0.1:$PORT/api/v1/health" >/dev/null; do
  kill -0 "$PID" 2>/dev/null || { echo "server exited"; exit 1; }
  sleep 0.5
done
echo "ready after $(echo "$(date +%s.%N) - $start" | bc) s: $(curl -s "http://127.0.0.1:$PORT/api/v1/health")"
grep -E 'VmRSS|VmHWM' "/proc/$PID/status"
cat > "$WORK/rotate.lua" <<'LUA'
local paths = {
  "/api/v1/listings?q=%E6%9C%9D%E9%98%B3%E5%8C%BA%E4%BD%8F%E5%AE%85",                       -- 朝阳区住宅
  "/api/v1/listings?q=%E6%9D%AD%E5%B7%9E+%E4%BA%8C%E6%8B%8D",                               -- 杭州 二拍
  "/api/v1/listings?q=%E8%BD%A6%E4%BD%8D&sort=price_asc",                                    -- 车位
  "/api/v1/listings?q=%E8%8A%B1%E5%9B%AD+%E5%8D%95%E5%85%83&type=residential&round=first",   -- 花园 单元 + 2 filters
  "/api/v1/listings?q=%E5%B0%8F%E5%8C%BA+%E5%AE%A4&type=residential&price_max=200",           -- 小区 室 + 2 filters
  "/api/v1/listings?region=440000&sort=discount_asc&page=3",
}
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
LUA
echo "wrk: 2 threads, 32 connections, $DURATION"
wrk -t2 -c32 -d"$DURATION" --latency -s "$WORK/rotate.lua" "http://127.0.0.1:$PORT"
grep -E 'VmRSS|VmHWM' "/proc/$PID/status"

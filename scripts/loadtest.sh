#!/usr/bin/env bash
# HTTP load test of the search API with wrk on loopback, and the server's memory.
#
#   scripts/loadtest.sh                 # the bundled real data (6,214 lots)
#   LOTS=1000000 scripts/loadtest.sh    # N synthetic lots drawn from the real titles (anjia synth)
#   SCENARIO=valuation scripts/loadtest.sh  # POST /api/v1/valuations and lot details (market value)
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
if [ "${SCENARIO:-search}" = valuation ]; then
cat > "$WORK/rotate.lua" <<'LUA'
-- Half valuations of five Beijing places (community by address, a district, dates 2014–2017),
-- half lot details (each carries its market value) over the first 500 lot ids.
local bodies = {
  '{"address":"望京西园一区","area_m2":89.5,"as_of":"2017-06-01"}',
  '{"address":"北京市海淀区万寿园","area_m2":120,"bedrooms":3,"as_of":"2016-09-01"}',
  '{"district":"丰台","area_m2":70,"as_of":"2015-03-01"}',
  '{"address":"望京新城","area_m2":60,"floor_band":"high","total_floors":18}',
  '{"address":"北京市西城区","area_m2":55,"building_year":1990,"as_of":"2014-05-20"}',
}
local i = 0
request = function()
  i = i + 1
  if i % 2 == 0 then
    return wrk.format("POST", "/api/v1/valuations", {["Content-Type"] = "application/json"}, bodies[(i / 2) % #bodies + 1])
  end
  return wrk.format("GET", "/api/v1/listings/" .. ((i * 7) % 500 + 1))
end
LUA
else
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
fi
echo "wrk: 2 threads, 32 connections, $DURATION"
wrk -t2 -c32 -d"$DURATION" --latency -s "$WORK/rotate.lua" "http://127.0.0.1:$PORT"
grep -E 'VmRSS|VmHWM' "/proc/$PID/status"

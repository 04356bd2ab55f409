#!/usr/bin/env bash
# HTTP load test of sign-in with wrk on loopback (docs/PERFORMANCE.md, "Accounts").
#
#   scripts/signin-loadtest.sh
#
# Needs wrk (apt-get install wrk), curl and python3. Builds the release binary, starts `anjia serve`
# on 127.0.0.1:$PORT with a fresh SQLite database in a temporary directory (no bundled lots: the
# run is about accounts), creates one account through the API exactly as a user would (SMS code
# read from the development outbox with `anjia sms outbox`, step-up, password), then runs wrk for
# $DURATION on:
#   1. POST /api/v1/auth/sign-in/password — phone + password: Argon2id verification + a new session;
#   2. GET  /api/v1/me with the bearer token — the cost of an authenticated request (token hash,
#      session lookup, account read and decryption of the masked phone).
# Only loopback traffic; the run is bounded in time and stops the server at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-18081}
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-8}
PHONE=${PHONE:-13912345678}
PASSWORD='load-test-Passw0rd!'
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
# BIN=path/to/anjia runs a given binary (e.g. before/after a change) instead of building one.
if [ -z "${BIN:-}" ]; then
  cargo build --release -p anjia
  BIN=${CARGO_TARGET_DIR:-target}/release/anjia
fi
WORK=$(mktemp -d)
trap 'kill "${PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
export ANJIA_DATABASE_URL="sqlite://$WORK/anjia.db" ANJIA_VAULT_URL="sqlite://$WORK/vault.db" \
  ANJIA_INDEX_DIR="$WORK/index" ANJIA_KEYS_FILE="$WORK/keys.toml" ANJIA_FILES_DIR="$WORK/files" \
  ANJIA_LISTEN="127.0.0.1:$PORT" ANJIA_LOG=warn ANJIA_IMPORT_BUNDLED=false
"$BIN" serve & PID=$!
BASE="http://127.0.0.1:$PORT/api/v1"
until curl -sf "$BASE/health" >/dev/null; do
  kill -0 "$PID" 2>/dev/null || { echo "server exited"; exit 1; }
  sleep 0.5
done
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
latest_code() { "$BIN" sms outbox --phone "$PHONE" | grep -oE '[0-9]{6}' | head -1; }
post() { curl -sf -X "$1" "$BASE$2" -H 'content-type: application/json' ${TOKEN:+-H "authorization: Bearer $TOKEN"} -d "$3"; }

post POST /auth/code "{\"phone\":\"$PHONE\"}" >/dev/null
TOKEN=$(post POST /auth/sign-in "{\"phone\":\"$PHONE\",\"code\":\"$(latest_code)\",\"accept_policy\":true}" | json "['token']")
sleep 61 # one code per number per minute
post POST /auth/step-up/code '{}' >/dev/null
post POST /auth/step-up "{\"code\":\"$(latest_code)\"}" >/dev/null
post PUT /me/password "{\"new_password\":\"$PASSWORD\"}" >/dev/null
echo "account ready"

cat > "$WORK/signin.lua" <<LUA
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"phone":"$PHONE","password":"$PASSWORD"}'
LUA
echo "== POST /api/v1/auth/sign-in/password ($CONNECTIONS connections, $DURATION)"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/signin.lua" "$BASE/auth/sign-in/password"
echo "== GET /api/v1/me with a bearer token ($CONNECTIONS connections, $DURATION)"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "authorization: Bearer $TOKEN" "$BASE/me"
grep -E 'VmRSS|VmHWM' "/proc/$PID/status"

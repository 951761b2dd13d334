#!/usr/bin/env bash
# Measures tokensvc as docs/PERFORMANCE.md reports it, in one run on this
# machine: builds the release and pure-Go binaries, then measures both, and
# the Node baseline when `npm install` has been run in docs/perf/node-baseline.
# Prints every figure; writes docs/perf/throughput.svg. Run it on an idle
# machine: the load tool shares the cores with the server, as the targets say.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=bin; OUT=docs/perf; PORT=18443; KEY=perf-run-admin-key-0123456789abcdefgh
DUR=${DUR:-8s}
export TOKENSVC_URL=http://127.0.0.1:$PORT TOKENSVC_API_KEY=$KEY
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# The toolchain go.mod names, as make uses (see the Makefile).
export GOTOOLCHAIN=auto
make -s build
CGO_ENABLED=0 go build -trimpath -o "$BIN/tokensvc-purego" ./cmd/tokensvc

serve() { # serve BINARY [ENV...]: start tokensvc on the embedded store and wait until ready
  local bin=$1; shift
  env "$@" TOKENSVC_ADDR=127.0.0.1:$PORT TOKENSVC_DATA_DIR="$work/data-$RANDOM" \
    TOKENSVC_BOOTSTRAP_API_KEY=$KEY TOKENSVC_LOG_LEVEL=warn "$bin" serve 2>>"$work/serve.log" &
  SERVER=$!
  until curl -sf "$TOKENSVC_URL/readyz" >/dev/null; do sleep 0.1; done
}
stop() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; }
rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$SERVER/status"; }

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "== openssl speed -multi $(nproc) rsa2048"
openssl speed -multi "$(nproc)" -seconds 5 rsa2048 2>/dev/null | tail -1

echo "== tokensvc release build (signs through OpenSSL): sweep"
serve "$BIN/tokensvc"
"$BIN/tokenbench" --sweep 1,2,4,8,16,32 --duration "$DUR" --svg "$OUT/throughput.svg" 2>/dev/null
echo "RSS after the sweep: $(rss)"
echo "== half of the c=8 peak, open loop"
peak=$("$BIN/tokenbench" --concurrency 8 --duration "$DUR" --skip-raw --json 2>/dev/null | sed -nE 's/.*"throughput_per_second": ([0-9]+).*/\1/p')
"$BIN/tokenbench" --rate $((peak / 2)) --concurrency 32 --duration "$DUR" --skip-raw 2>/dev/null | tail -1
echo "== JWKS"
"$BIN/tokenbench" --endpoint jwks --concurrency 8 --duration "$DUR" 2>/dev/null | tail -1
echo "RSS under load: $(rss)"
echo "== refresh (embedded store: one fsync per refresh)"
"$BIN/tokenbench" --endpoint refresh --concurrency 8 --duration "$DUR" --skip-raw 2>/dev/null | tail -1
stop

echo "== pure-Go build (crypto/rsa), c=8"
serve "$BIN/tokensvc-purego"
"$BIN/tokenbench" --concurrency 8 --duration "$DUR" --skip-raw 2>/dev/null | tail -1
stop

if [ -d "$OUT/node-baseline/node_modules" ]; then
  for mode in parsed pem; do
    echo "== Node express + jsonwebtoken, key $mode, c=8"
    (cd "$OUT/node-baseline" && MODE=$mode PORT=$PORT API_KEY=$KEY exec node server.js) &
    SERVER=$!
    until curl -s -o /dev/null "$TOKENSVC_URL/v1/tokens" -X POST; do sleep 0.1; done
    "$BIN/tokenbench" --concurrency 8 --duration "$DUR" --skip-raw 2>/dev/null | tail -1
    stop
  done
fi

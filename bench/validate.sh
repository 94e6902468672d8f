#!/usr/bin/env bash
# Validations per second of one release server on this machine, next to a bare
# JSON endpoint (/health) of the same server, measured the same way.
#
#   bench/validate.sh                 # SQLite (a temp file)
#   DATABASE_URL=postgres://… bench/validate.sh
#
# Load: examples/loadgen.rs, closed loop, $CONNECTIONS requests in flight for
# $BENCH_SECONDS s (default 10), on the same machine (so server and load share the cores).
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS=${CONNECTIONS:-32}
SECONDS_EACH=${BENCH_SECONDS:-10}
PORT=${PORT:-18080}
cargo build --release --quiet --bin license-server --example loadgen
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
export DATABASE_URL=${DATABASE_URL:-sqlite://$work/bench.db}
export LICENSE_SERVER_LISTEN=127.0.0.1:$PORT LICENSE_SERVER_RATE_LIMIT_PER_IP=0 RUST_LOG=warn
export LICENSE_SERVER_ADMIN_EMAIL=bench@example.com LICENSE_SERVER_ADMIN_PASSWORD=bench-password-123
target/release/license-server > "$work/server.log" 2>&1 &
server=$!
base=http://127.0.0.1:$PORT
for _ in $(seq 100); do curl -fs "$base/health" >/dev/null && break; sleep 0.1; done

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
token=$(curl -fs -X POST "$base/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"bench-password-123"}' | json '["access_token"]')
auth=(-H "authorization: Bearer $token" -H 'content-type: application/json')
curl -fs -X POST "$base/api/v1/products" "${auth[@]}" -d '{"code":"BENCH","name":"Bench"}' >/dev/null
key=$(curl -fs -X POST "$base/api/v1/orders" "${auth[@]}" -d '{"number":"BENCH-1","customer":{"company":"Bench GmbH"},
  "licenses":[{"product_code":"BENCH","kind":"computer_based","seats":10}],"managers":[{"email":"m@bench.example"}]}' \
  | json '["licenses"][0]["key"]')
activation=$(curl -fs -X POST "$base/api/v1/client/activate" -H 'content-type: application/json' \
  -d "{\"license_key\":\"$key\",\"hardware_id\":\"bench-machine\"}" | json '["activation_token"]')

echo "engine: ${DATABASE_URL%%:*}; $(nproc) cores; $CONNECTIONS connections; ${SECONDS_EACH} s each"
echo -n "GET /health (bare JSON):            "
target/release/examples/loadgen "$base/health" --connections "$CONNECTIONS" --seconds "$SECONDS_EACH"
echo -n "POST /client/validate (token):      "
target/release/examples/loadgen "$base/api/v1/client/validate" \
  "{\"activation_token\":\"$activation\",\"hardware_id\":\"bench-machine\",\"nonce\":\"bench\"}" \
  --connections "$CONNECTIONS" --seconds "$SECONDS_EACH"
echo -n "POST /client/validate (key + hw):   "
target/release/examples/loadgen "$base/api/v1/client/validate" \
  "{\"license_key\":\"$key\",\"hardware_id\":\"bench-machine\",\"nonce\":\"bench\"}" \
  --connections "$CONNECTIONS" --seconds "$SECONDS_EACH"

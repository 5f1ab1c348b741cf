#!/usr/bin/env bash
# Benchmarks cloudcomp-app with wrk on loopback, side by side with a bare hyper server
# (bench/hello) and, if FASTAPI=1, the seeds' FastAPI + SQLite design (bench/fastapi).
# Prints one table. Not a test: numbers depend on the machine.
#
#   bash bench/app.sh                 # DURATION=10s, ROUNDS=3 by default
#   DURATION=30s FASTAPI=1 bash bench/app.sh
#
# The read endpoints and bare hyper run interleaved, ROUNDS times each, and the table shows
# each one's median, so that the machine's drift between runs does not skew the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-10s}
rounds=${ROUNDS:-3}
threads=${THREADS:-2}
ulimit -n 65536 2>/dev/null || true
command -v wrk >/dev/null || { echo "bench/app.sh needs wrk (apt-get install wrk)" >&2; exit 1; }

# The shipped build (the `dist` profile, link-time optimised), as bench/provision.sh builds it,
# so that both share one build.
cargo build --profile dist -q --workspace --bins
bin=${CARGO_TARGET_DIR:-target}/dist
work=$(mktemp -d /tmp/cloudcomp-bench.XXXXXX)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "$1 never answered" >&2; exit 1; }

hello_port=$(free_port); app_port=$(free_port)
"$bin/bench-hello" "127.0.0.1:$hello_port" & pids+=($!)
# No rate limit on /items: the benchmark measures the handler, not the limiter's refusals.
CLOUDCOMP_LOG=warn "$bin/cloudcomp-app" --listen "127.0.0.1:$app_port" --db-path "$work/app.db" --rate-items 0 \
  & app_pid=$!; pids+=($app_pid)
hello=http://127.0.0.1:$hello_port; app=http://127.0.0.1:$app_port
wait_http "$hello/"; wait_http "$app/health"
for i in $(seq 1 100); do
  curl -sf -o /dev/null -X POST "$app/api/v1/users" -H 'content-type: application/json' \
    -d "{\"username\": \"user$i\", \"password\": \"5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8\"}"
done
json_field() { python3 -c "import sys, json; print(json.load(sys.stdin)[\"$1\"])"; }
# Seed 003: the demo user's bearer token and 20 items.
items_token=$(curl -sf -X POST "$app/auth/login" -d 'username=demo&password=password123' | json_field access_token)
for i in $(seq 1 20); do
  curl -sf -o /dev/null -X POST "$app/items" -H "Authorization: Bearer $items_token" \
    -H 'content-type: application/json' -d "{\"name\": \"item $i\", \"description\": \"benchmark item\"}"
done
# Seed 004: the seeded admin, with credit for every operation the benchmark runs.
calc_token=$(curl -sf -X POST "$app/calc/login" -H 'content-type: application/json' \
  -d '{"email": "defaultadmin@admin.as", "password": "adminpass"}' | json_field access_token)
admin_id=$(curl -sf "$app/calc/api/v1/users?email=defaultadmin@admin.as" -H "Authorization: Bearer $calc_token" \
  | python3 -c 'import sys, json; print(json.load(sys.stdin)["users"][0]["id"])')
curl -sf -o /dev/null -X PATCH "$app/calc/api/v1/users/$admin_id" -H "Authorization: Bearer $calc_token" \
  -H 'content-type: application/json' -d '{"balance": 1000000000000000}'

# measure <connections> <url> [lua script] -> sets $rps $p99 $non2xx $sock
measure() {
  local conns=$1 url=$2 script=${3:-}
  local out
  out=$(wrk -t"$threads" -c"$conns" -d"$duration" --latency ${script:+-s "$script"} "$url")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out"); non2xx=${non2xx:-0}
  sock=$(awk -F'[ ,]+' '/Socket errors/ {print $4+$6+$8+$10}' <<<"$out"); sock=${sock:-0}
}
row() { printf '| %-34s | %5s | %10s | %8s | %6s | %6s |\n' "$@"; }
# run <label> <connections> <url> [lua script] -> prints a row, sets $rps
run() { local label=$1; shift; measure "$@"; row "$label" "$1" "$rps" "$p99" "$non2xx" "$sock"; }
median() { python3 -c 'import sys, statistics; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

echo "wrk -t$threads -d$duration on $(nproc) cores, $(uname -r); reads: median of $rounds interleaved rounds"
row "endpoint" "conns" "req/s" "p99" "non2xx" "sockerr"
printf '|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..36})" "-------" "------------" "----------" "--------" "--------"
declare -A samples errors
names=(hello health users status items)
declare -A urls=([hello]="$hello/" [health]="$app/health" [users]="$app/api/v1/users" [status]="$app/status" [items]="$app/items")
declare -A labels=([hello]="bare hyper: GET / (ok)" [health]="app: GET /health" [users]="app: GET /api/v1/users (100 users)" [status]="app: GET /status" [items]="app: GET /items (20, bearer)")
declare -A scripts=([items]=bench/lua/bearer_get.lua)
for _ in $(seq 1 "$rounds"); do
  for name in "${names[@]}"; do
    TOKEN=$items_token measure 64 "${urls[$name]}" "${scripts[$name]:-}"
    samples[$name]="${samples[$name]:-} $rps"
    errors[$name]=$(( ${errors[$name]:-0} + non2xx + sock ))
  done
done
declare -A med
for name in "${names[@]}"; do
  # shellcheck disable=SC2086
  med[$name]=$(median ${samples[$name]})
  row "${labels[$name]}" 64 "${med[$name]}" "-" "${errors[$name]}" "-"
done
base=${med[hello]}; health=${med[health]}; users=${med[users]}; status=${med[status]}; items=${med[items]}
run "app: POST /update (durable)" 64 "$app/update" bench/lua/update.lua; writes=$rps
TOKEN=$calc_token run "app: POST /calc/.../process_operation" 64 "$app/calc/api/v1/process_operation" bench/lua/process.lua
operations=$rps
run "app: mixed r/w, 1000 connections" 1000 "$app/" bench/lua/mixed.lua
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$app_pid/status")
total=$(curl -sf "$app/logs?per_page=1" | python3 -c 'import sys,json; print(json.load(sys.stdin)["total"])')

pct() { python3 -c "print(f'{100*$1/$2:.0f} %')"; }
echo
echo "bare hyper baseline (median):     $base req/s (rounds:${samples[hello]})"
echo "GET /health vs bare hyper:        $(pct "$health" "$base")"
echo "GET /api/v1/users vs bare hyper:  $(pct "$users" "$base")"
echo "GET /status vs bare hyper:        $(pct "$status" "$base")"
echo "GET /items vs bare hyper:         $(pct "$items" "$base")"
echo "durable writes/s (POST /update):  $writes  (audit log rows now: $total)"
records=$(curl -sf "$app/calc/api/v1/records?page_size=1" -H "Authorization: Bearer $calc_token" | json_field total_pages)
echo "durable operations/s (seed 004):  $operations  (records now: $records)"
echo "app peak RSS:                     $((rss_kb / 1024)) MB"

if [ "${FASTAPI:-0}" = 1 ]; then
  python3 -c 'import fastapi, uvicorn' 2>/dev/null || python3 -m pip install -q fastapi uvicorn
  fa_port=$(free_port)
  (cd bench/fastapi && DB_PATH="$work/seed.db" python3 -m uvicorn app:app --port "$fa_port" --log-level warning 2>"$work/fastapi.log") & pids+=($!)
  wait_http "http://127.0.0.1:$fa_port/health"
  echo
  run "FastAPI+SQLite: POST /update" 64 "http://127.0.0.1:$fa_port/update" bench/lua/update.lua; fa=$rps
  echo "FastAPI errors logged: $(grep -c 'database is locked' "$work/fastapi.log" || true) x 'database is locked'"
  echo "durable writes: cloudcomp-app is $(python3 -c "print(f'{$writes/$fa:.0f}')")x the seed's FastAPI design"
fi

#!/usr/bin/env bash
# Deploys under load on the local target: starts a local stack (process runtime, 2 replicas),
# drives load through its balancer with wrk (or curl loops where wrk is missing) while
# `up --local` deploys a good release (an app.env change) and then a broken one (a value the
# app refuses at startup), and prints each deploy's exit code and duration and the requests
# made meanwhile (total, non-2xx, errors). Not a test: numbers depend on the machine.
#
#   bash bench/deploy.sh                   # LOAD=15s CONNECTIONS=32, the dev build
#   PROFILE=dist LOAD=30s bash bench/deploy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
load=${LOAD:-15s}
connections=${CONNECTIONS:-32}
profile=${PROFILE:-dev}
ulimit -n 65536 2>/dev/null || true

cargo build -q --profile "$profile" --bin cloudcomp
dir=${CARGO_TARGET_DIR:-target}/$([ "$profile" = dev ] && echo debug || echo "$profile")
cloudcomp=$(realpath "$dir/cloudcomp")
work=$(mktemp -d /tmp/cloudcomp-deploy.XXXXXX)
stack=$work/stack.yaml
trap '"$cloudcomp" destroy --local -f "$stack" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

# write_stack <app.env entries>
write_stack() {
  cat >"$stack" <<YAML
name: deploybench$$
scaling: { min: 2, max: 2 }
health_check: { path: /health, interval: 5s }
instances: { health_grace: 10s, deregistration_delay: 5s }
app: { env: { $1 } }
YAML
}

write_stack ''
url=$("$cloudcomp" up --local --runtime process --port 0 -f "$stack" 2>/dev/null)
base=${url%/api/v1/users}
for i in $(seq 1 20); do
  curl -sf -o /dev/null -X POST "$url" -H 'content-type: application/json' \
    -d "{\"username\": \"user$i\", \"password\": \"5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8\"}"
done

# load <seconds> <output file>: GET /api/v1/users through the balancer for that long.
load() {
  if command -v wrk >/dev/null; then
    wrk -t2 -c"$connections" -d"$1" "$url" >"$2"
  else
    local end=$((SECONDS + ${1%s}))
    for c in $(seq 1 "$connections"); do
      (while [ $SECONDS -lt $end ]; do curl -s -o /dev/null -w '%{http_code}\n' "$url" || echo 000; done >"$2.$c") &
    done
    wait
    cat "$2".* >"$2.codes"
  fi
}

# counts <output file>: prints "total non2xx errors".
counts() {
  if command -v wrk >/dev/null; then
    local total non2xx errors
    total=$(awk '/requests in/ {print $1}' "$1")
    non2xx=$(awk '/Non-2xx/ {print $NF}' "$1")
    errors=$(awk -F'[ ,]+' '/Socket errors/ {print $4+$6+$8+$10}' "$1")
    echo "$total ${non2xx:-0} ${errors:-0}"
  else
    awk '{ n++ } $1 == "000" { e++ } $1 != "000" && ($1 < 200 || $1 >= 300) { b++ } END { print n, b+0, e+0 }' "$1.codes"
  fi
}

# deploy <label> <app.env entries>
deploy() {
  write_stack "$2"
  load "$load" "$work/$1.load" &
  local loader=$!
  sleep 2 # the load is under way before the deploy starts
  local started ended code=0
  started=$(date +%s.%N)
  "$cloudcomp" up --local -f "$stack" >"$work/$1.out" 2>"$work/$1.err" || code=$?
  ended=$(date +%s.%N)
  wait "$loader"
  local release
  release=$("$cloudcomp" status --local --json -f "$stack" | python3 -c \
    'import sys, json; s = json.load(sys.stdin); print(s["release"], "on", sorted({r["release"] for r in s["replicas"]}))')
  read -r total non2xx errors < <(counts "$work/$1.load")
  printf '%-8s %-5s %-9s %-10s %-9s %-7s %s\n' "$1" "$code" "$(printf '%.1fs' "$(echo "$ended - $started" | bc)")" \
    "$total" "$non2xx" "$errors" "$release"
  if [ "$code" != 0 ]; then sed 's/^/    /' "$work/$1.err" | tail -n 6; fi
}

echo "local stack at $base; load: $(command -v wrk >/dev/null && echo "wrk -c$connections" || echo "curl x$connections") for $load per deploy ($profile build, $(nproc) cores)"
printf '%-8s %-5s %-9s %-10s %-9s %-7s %s\n' deploy exit duration requests non-2xx errors release
deploy good 'CLOUDCOMP_RATE_LOGIN: "10"'
deploy broken 'CLOUDCOMP_RATE_LOGIN: "not-a-number"'

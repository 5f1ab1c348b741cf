#!/usr/bin/env bash
# Runs the reliability and security tests (crash at every step, faults, locking, lost state,
# bad stack files, the app under 1,000 connections, fuzzing, kill -9 under writes) and
# prints what each tried and survived as a table, from the `REPORT <what>: …` lines the
# tests write. Needs moto_server (CLOUDCOMP_TEST_AWS_ENDPOINT, or it starts one).
#
#   bash bench/reliability.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/cloudcomp-reliability.XXXXXX)
moto=
trap 'kill $moto 2>/dev/null || true; rm -rf "$work"' EXIT
if [ -z "${CLOUDCOMP_TEST_AWS_ENDPOINT:-}" ]; then
  command -v moto_server >/dev/null || { echo "needs moto_server (pip install 'moto[server]')" >&2; exit 1; }
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  MOTO_IAM_LOAD_MANAGED_POLICIES=true moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
  moto=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null && break; sleep 0.1; done
  export CLOUDCOMP_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
fi
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-testing} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-testing}
export AWS_REGION=${AWS_REGION:-us-east-1}

start=$(date +%s)
cargo nextest run --workspace --no-fail-fast --success-output final --failure-output final \
  -E 'binary(crash) | binary(faults) | binary(concurrency) | binary(from_tags) | binary(bad_stacks) | binary(load) | binary(fuzz) | binary(process) | (binary(contract) & test(/items|login_is_rate_limited/))' \
  >"$work/out.log" 2>&1 || { tail -50 "$work/out.log"; echo "reliability tests FAILED" >&2; exit 1; }
took=$(( $(date +%s) - start ))

grep -hE '^\s*REPORT ' "$work/out.log" | sed -E 's/^\s+//' | sort -u >"$work/report"
crash_points=$(grep -c '^REPORT crash-point ' "$work/report" || true)
printf '| what was tried | what survived |\n|---|---|\n'
printf '| crash (SIGKILL after step N, before the state records it) at every one of %s steps: up→destroy, up→up, destroy→destroy | %s of %s crash points converged: no duplicate, nothing left after destroy |\n' \
  "$crash_points" "$crash_points" "$crash_points"
grep -v '^REPORT crash-point ' "$work/report" \
  | sed -E 's/^REPORT ([^:]+): (.*)$/| \1 | \2 |/'
echo "(all tests passed in ${took}s)"

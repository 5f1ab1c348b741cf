#!/usr/bin/env bash
# Times `cloudcomp up` (cold), a no-change `up`, and `destroy` of stacks/default.yaml against
# a moto_server of its own, then `up` with a fixed delay added to every AWS call (bench/aws-proxy)
# against the graph's critical path. Prints the figures. Not a test: numbers depend on the machine.
#
#   bash bench/provision.sh            # RUNS=3, PROFILE=dist, DELAY_MS=200 by default
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
command -v moto_server >/dev/null || { echo "bench/provision.sh needs moto_server (pip install 'moto[server]')" >&2; exit 1; }
profile=${PROFILE:-dist}   # the shipped build; PROFILE=dev to time the debug build
# The same command as bench/app.sh, so both share one build.
cargo build --profile "$profile" -q --workspace --bins
dir=$profile; [ "$profile" = dev ] && dir=debug
bin=${CARGO_TARGET_DIR:-target}/$dir/cloudcomp
proxy_bin=${CARGO_TARGET_DIR:-target}/$dir/aws-proxy
delay=${DELAY_MS:-200}
work=$(mktemp -d /tmp/cloudcomp-provision.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MOTO_IAM_LOAD_MANAGED_POLICIES=true moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto=$!
proxy=
trap 'kill $moto $proxy 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null && break; sleep 0.1; done
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-testing} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-testing}
export AWS_ENDPOINT_URL="http://127.0.0.1:$port"

seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null 2>"$work/last.err" || { cat "$work/last.err" >&2; exit 1; }; end=$(date +%s.%N); python3 -c "print(f'{$end - $start:.2f}')"; }

printf '| run | up (cold) | up (no change) | destroy |\n|---|---|---|---|\n'
for i in $(seq 1 "$runs"); do
  cp stacks/default.yaml "$work/stack.yaml"
  up=$(seconds "$bin" up -f "$work/stack.yaml")
  again=$(seconds "$bin" up -f "$work/stack.yaml")
  down=$(seconds "$bin" destroy -f "$work/stack.yaml")
  printf '| %s | %s s | %s s | %s s |\n' "$i" "$up" "$again" "$down"
done
echo "(Terraform on the same moto: 101 s, 25 s, 25 s.)"

# With every AWS call delayed, the wall time of `up` against the longest chain of dependent
# steps (what no schedule can beat): how much the engine loses to scheduling.
proxy_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$proxy_bin" "127.0.0.1:$proxy_port" "127.0.0.1:$port" "$delay" >/dev/null 2>&1 &
proxy=$!
for _ in $(seq 1 100); do curl -s "http://127.0.0.1:$proxy_port/" >/dev/null && break; sleep 0.1; done
cp stacks/default.yaml "$work/stack.yaml"
echo
echo "With ${delay} ms added to every AWS call:"
AWS_ENDPOINT_URL="http://127.0.0.1:$proxy_port" "$bin" up --timings -f "$work/stack.yaml" 2>&1 >/dev/null | grep -E '^critical path' | sed 's/^/  up: /'
start=$(date +%s.%N)
AWS_ENDPOINT_URL="http://127.0.0.1:$proxy_port" "$bin" destroy -f "$work/stack.yaml" >/dev/null 2>&1
end=$(date +%s.%N)
python3 -c "print(f'  destroy: {$end - $start:.2f} s')"

# Strict mode: AWS as it really behaves (ids and tags lag after a create, a new instance
# profile is unusable for seconds, interfaces linger after a delete, instances boot; see
# bench/aws-proxy), at AWS-like delays in seconds. `up` includes waiting for the service.
kill $proxy 2>/dev/null || true
strict_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$proxy_bin" "127.0.0.1:$strict_port" "127.0.0.1:$port" 0 0 --strict >/dev/null 2>&1 &
proxy=$!
for _ in $(seq 1 100); do curl -s "http://127.0.0.1:$strict_port/" >/dev/null && break; sleep 0.1; done
echo
echo "Strict mode (bench/aws-proxy --strict):"
printf '| run | up (to service up) | up (no change) | destroy | EC2 resources left tagged |\n|---|---|---|---|---|\n'
for i in $(seq 1 "$runs"); do
  sed "s/name: demo/name: strict$i/" stacks/default.yaml >"$work/strict.yaml"
  export AWS_ENDPOINT_URL="http://127.0.0.1:$strict_port"
  up=$(seconds "$bin" up -f "$work/strict.yaml")
  again=$(seconds "$bin" up -f "$work/strict.yaml")
  down=$(seconds "$bin" destroy -f "$work/strict.yaml")
  left=$(python3 - "strict$i" "http://127.0.0.1:$port" <<'PY'
import sys, boto3
ec2 = boto3.client("ec2", endpoint_url=sys.argv[2], region_name="us-east-1")
f = [{"Name": "tag:cloudcomp:stack", "Values": [sys.argv[1]]}]
live = sum(len(ec2.describe_vpcs(Filters=f)["Vpcs"]) for _ in [0])
live += len(ec2.describe_subnets(Filters=f)["Subnets"]) + len(ec2.describe_security_groups(Filters=f)["SecurityGroups"])
live += len(ec2.describe_internet_gateways(Filters=f)["InternetGateways"]) + len(ec2.describe_route_tables(Filters=f)["RouteTables"])
live += len(ec2.describe_launch_templates(Filters=f)["LaunchTemplates"])
running = f + [{"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}]
live += sum(len(r["Instances"]) for r in ec2.describe_instances(Filters=running)["Reservations"])
print(live)
PY
)
  printf '| %s | %s s | %s s | %s s | %s |\n' "$i" "$up" "$again" "$down" "$left"
done

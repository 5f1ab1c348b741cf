#!/usr/bin/env bash
# What a new user waits for: from a fresh clone with an empty cargo target directory to the
# URL `cargo run --release -- up --local` prints (the process runtime: no Docker engine
# needed), then a second run. Prints each phase's wall time. Not a test: it takes minutes.
#
#   bash bench/first-run.sh          # clones this checkout's HEAD into a temporary directory
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/cloudcomp-first-run.XXXXXX)
trap 'cd "$work/clone" 2>/dev/null && cargo run -q --release -- destroy --local >/dev/null 2>&1; rm -rf "$work"' EXIT
git clone -q "$src" "$work/clone"
cd "$work/clone"
export CARGO_TARGET_DIR="$work/target"   # empty: every dependency builds
# Port 0 asks for a free port, as a second stack on a busy machine would.
up() { cargo run -q --release -- up --local --runtime process --port "${PORT:-0}"; }

started=$SECONDS
cargo build -q --release
build=$((SECONDS - started))
started=$SECONDS
url=$(up)
start=$((SECONDS - started))
curl -sf "${url%/api/v1/users}/health" >/dev/null
cargo run -q --release -- destroy --local >/dev/null
started=$SECONDS
up >/dev/null
second=$((SECONDS - started))
echo "on $(nproc) cores, from an empty target directory:"
echo "  cargo build --release:          ${build}s"
echo "  up --local until the URL:       ${start}s"
echo "  first run in all:               $((build + start))s"
echo "  second run (cargo run → URL):   ${second}s"

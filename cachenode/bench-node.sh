#!/usr/bin/env bash
# make bench-node: node PUT/GET throughput beside plain TCP, on a local
# fncache-faas with four 1.2 GB nodes. Prints the table bench_node makes.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill $faas 2>/dev/null; wait $faas 2>/dev/null; rm -rf "$work"' EXIT
bin/fncache-faas --quiet --port 0 --port-file "$work/port" \
    --function "bench-* $PWD/bin/fncache-node memory=1200 timeout=600" &
faas=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "bench-node: fncache-faas did not start" >&2; exit 1; }
build/release/bench/bench_node --faas "http://127.0.0.1:$(cat "$work/port")" --prefix bench- "$@"

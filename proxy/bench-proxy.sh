#!/usr/bin/env bash
# make bench-proxy: memcached 1.6, fncache-proxy (10+2 over 12 local nodes)
# and twemproxy (nutcracker) in front of that memcached, side by side on
# loopback, the same workload, one table. twemproxy is the yardstick for
# what one relay hop costs.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-servers.sh
mc_port=$(free_port); px_port=$(free_port); nc_port=$(free_port)
tmp=$(mktemp -d)
user=$([ "$(id -u)" = 0 ] && echo root || id -un)
memcached -u "$user" -l 127.0.0.1 -p "$mc_port" -U 0 -t 2 -m 8192 -I 128m &
mc=$!
bin/fncache-proxy -l 127.0.0.1 -p "$px_port" --nodes 12 --node-memory 1024 -I 128m &
px=$!
start_twemproxy "$tmp" "$nc_port" "$mc_port"
nc=$!
trap 'rc=$?; kill $mc $px $nc 2>/dev/null; wait $mc $px $nc 2>/dev/null || true; rm -rf "$tmp"; exit $rc' EXIT
for port in "$mc_port" "$px_port" "$nc_port"; do wait_port "$port"; done
# twemproxy shares memcached: it runs last in each cell, so what it reads is its own
build/release/bench/bench_proxy memcached=127.0.0.1:$mc_port fncache=127.0.0.1:$px_port \
  twemproxy=127.0.0.1:$nc_port "$@"
echo
printf 'stats\r\nquit\r\n' | { exec 3<>/dev/tcp/127.0.0.1/$px_port; cat >&3; grep -E 'index_bytes_per_item|curr_items|decodes' <&3; } || true

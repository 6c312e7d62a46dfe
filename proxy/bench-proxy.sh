#!/usr/bin/env bash
# make bench-proxy: memcached 1.6 and fncache-proxy (10+2 over 12 local
# nodes) side by side on loopback, the same workload, one table.
set -euo pipefail
cd "$(dirname "$0")/.."
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mc_port=$(free_port); px_port=$(free_port)
user=$([ "$(id -u)" = 0 ] && echo root || id -un)
memcached -u "$user" -l 127.0.0.1 -p "$mc_port" -U 0 -t 2 -m 8192 -I 128m &
mc=$!
bin/fncache-proxy -l 127.0.0.1 -p "$px_port" --nodes 12 --node-memory 1024 -I 128m &
px=$!
trap 'kill $mc $px 2>/dev/null; wait $mc $px 2>/dev/null' EXIT
for port in "$mc_port" "$px_port"; do
  for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
done
echo "memcached port $mc_port, fncache port $px_port"
build/release/bench/bench_proxy memcached=127.0.0.1:$mc_port fncache=127.0.0.1:$px_port "$@"
echo
printf 'stats\r\nquit\r\n' | { exec 3<>/dev/tcp/127.0.0.1/$px_port; cat >&3; grep -E 'index_bytes_per_item|curr_items|decodes' <&3; } || true

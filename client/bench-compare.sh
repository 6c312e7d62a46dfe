#!/usr/bin/env bash
# make bench: fncache-proxy (10+2 over its own local fleet of 12 nodes),
# memcached 1.6 and twemproxy (nutcracker) in front of memcached, side by
# side on loopback; the same `fncache bench` workloads on each; one table.
#
# usage: client/bench-compare.sh [--seconds S] [--only small,1m,10m,100m]
#        [--servers fncache,memcached,twemproxy]
# S scales every run (default 6 measured seconds, plus warm-up and prefill).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=6 only="small,1m,10m,100m" servers="fncache,memcached,twemproxy"
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --servers) servers=$2; shift 2 ;;
    *) echo "bench-compare: unknown argument $1 (see the top of $0)" >&2; exit 2 ;;
  esac
done

# name | fncache bench flags (everything but servers and duration)
workloads=(
  "small|--size 100 --connections 50 --keys 10000 --ratio 9:1 --warmup 1"
  "1m|--size 1m --connections 8 --keys 200 --ratio 9:1 --warmup 1"
  "10m|--size 10m --connections 4 --keys 40 --ratio 9:1 --warmup 1"
  "100m|--size 100m --connections 2 --keys 8 --ratio 9:1 --warmup 2"
)

. scripts/bench-servers.sh

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

user=$([ "$(id -u)" = 0 ] && echo root || id -un)
mc_port=$(free_port) px_port=$(free_port) nc_port=$(free_port)
memcached -u "$user" -l 127.0.0.1 -p "$mc_port" -U 0 -t 2 -m 2048 -I 128m -c 4096 &
pids+=($!)
bin/fncache-proxy -l 127.0.0.1 -p "$px_port" --nodes 12 --node-memory 1024 -I 128m 2>"$tmp/proxy.log" &
pids+=($!)
start_twemproxy "$tmp" "$nc_port" "$mc_port"
pids+=($!)
wait_port "$mc_port"; wait_port "$px_port"; wait_port "$nc_port"

declare -A addr=([fncache]=127.0.0.1:$px_port [memcached]=127.0.0.1:$mc_port [twemproxy]=127.0.0.1:$nc_port)
for w in "${workloads[@]}"; do
  name=${w%%|*} flags=${w#*|}
  [[ ",$only," == *",$name,"* ]] || continue
  for s in ${servers//,/ }; do
    echo "bench-compare: $name on $s ..." >&2
    # keys are per server and workload, so runs do not read each other's values
    # shellcheck disable=SC2086
    bin/fncache -s "${addr[$s]}" bench $flags --duration "$seconds" --key-prefix "$name:" --json -q \
      >"$tmp/$name.$s.json" 2>"$tmp/$name.$s.err" || true
  done
done

/usr/bin/python3 - "$tmp" "$only" "$servers" <<'PY'
import json, os, sys
tmp, only, servers = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
label = {"small": "100 B, 50 conns", "1m": "1 MB, 8 conns", "10m": "10 MB, 4 conns", "100m": "100 MB, 2 conns"}

def ms(us):
    return f"{us / 1000:.3f}" if us < 10000 else f"{us / 1000:.1f}"

def load(name, s):
    try:
        with open(os.path.join(tmp, f"{name}.{s}.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

print(f"{'workload':<17} {'server':<10} {'ops/s':>10} {'MB/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'errors':>7}"
      f"   {'fncache/peer: ops/s':>19} {'p50':>6} {'p99':>6}")
notes = []
for name in [w for w in ("small", "1m", "10m", "100m") if w in only]:
    ours = load(name, "fncache")
    for i, s in enumerate(servers):
        r = load(name, s)
        head = label.get(name, name) if i == 0 else ""
        if r is None:
            err = open(os.path.join(tmp, f"{name}.{s}.err")).read().strip().splitlines()
            print(f"{head:<17} {s:<10} {'(no result: ' + (err[-1] if err else '?') + ')'}")
            continue
        t = r["total"]
        errors = t["errors"] + r["prefill_errors"]
        line = (f"{head:<17} {s:<10} {t['ops_per_s']:>10.1f} {t['mb_per_s']:>9.1f} {ms(t['latency_us']['p50']):>9}"
                f" {ms(t['latency_us']['p99']):>9} {errors:>7}")
        if s != "fncache" and ours and t["count"] and ours["total"]["count"]:
            o = ours["total"]
            line += (f"   {o['ops_per_s'] / t['ops_per_s']:>18.2f}x {o['latency_us']['p50'] / t['latency_us']['p50']:>5.2f}x"
                     f" {o['latency_us']['p99'] / t['latency_us']['p99']:>5.2f}x")
        print(line)
        if errors:
            notes.append(f"{label.get(name, name)} on {s}: {errors} errors; first: {r.get('first_error', '?')}")
        if r["corrupt"]:
            notes.append(f"{label.get(name, name)} on {s}: {r['corrupt']} CORRUPT values; first: {r['first_corrupt']}")
print("ops/s and latency over GETs and SETs (9:1), values verified on every GET; MB = 2^20 bytes.")
print("fncache/peer: throughput ratio (>1 = fncache faster), latency ratios (<1 = fncache faster).")
for n in notes:
    print("note:", n)
PY

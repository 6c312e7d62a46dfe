# scripts/bench-servers.sh — sourced by the benchmark scripts
# (proxy/bench-proxy.sh, client/bench-compare.sh): free loopback ports, and
# twemproxy (nutcracker) in front of one memcached, the one-hop yardstick.

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_port() {
  for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
  echo "$(basename "$0"): nothing listens on port $1" >&2; return 1
}

# start_twemproxy DIR PORT MEMCACHED_PORT: in the background ($! is its pid),
# its config and log in DIR; ketama over one server connection, its default.
start_twemproxy() {
  cat >"$1/nutcracker.yml" <<YML
bench:
  listen: 127.0.0.1:$2
  hash: fnv1a_64
  distribution: ketama
  timeout: 120000
  preconnect: true
  auto_eject_hosts: false
  servers:
   - 127.0.0.1:$3:1
YML
  nutcracker -c "$1/nutcracker.yml" -s "$(free_port)" -a 127.0.0.1 -o "$1/nutcracker.log" &
}

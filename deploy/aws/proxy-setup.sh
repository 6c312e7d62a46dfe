#!/usr/bin/env bash
# deploy/aws/proxy-setup.sh — install fncache-proxy as a systemd service on
# the EC2 instance it runs on (Debian 12), pointed at a fleet made with
# deploy/aws/fncache-aws. Run as root from the source tree after `make`.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

usage() {
  cat <<EOF
usage: sudo deploy/aws/proxy-setup.sh [--dry-run] --region R [options] [-- more proxy flags]

  --region R          region of the node functions [\$AWS_REGION]
  --prefix P          their name prefix [fncache-node-]
  --count N           how many there are [12]
  --memory MB         their memory size [1024]
  --port N            memcached port for clients [11211]
  --listen ADDR       address clients connect to [0.0.0.0]
  --node-port N       port nodes dial back to (open it to the nodes) [7000]
  --advertise IP:PORT address nodes are given [this instance's private IPv4, from
                      the instance metadata, and --node-port]
  --bin PATH          the fncache-proxy to install [bin/fncache-proxy of this tree]
  --dry-run           print the commands (and the environment file) instead
  -h, --help          this text

Anything after -- is passed to fncache-proxy (e.g. -- --ec 10+2 -m 50000).
EOF
}

dry=0 region=${AWS_REGION:-} prefix=fncache-node- count=12 memory=1024 port=11211 listen=0.0.0.0
node_port=7000 advertise="" bin="$(dirname "$(dirname "$here")")/bin/fncache-proxy" extra=()
die() { echo "proxy-setup: $*" >&2; exit 2; }
need() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) dry=1 ;;
    -h|--help) usage; exit 0 ;;
    --region) need "$@"; region=$2; shift ;;
    --prefix) need "$@"; prefix=$2; shift ;;
    --count) need "$@"; count=$2; shift ;;
    --memory) need "$@"; memory=$2; shift ;;
    --port) need "$@"; port=$2; shift ;;
    --listen) need "$@"; listen=$2; shift ;;
    --node-port) need "$@"; node_port=$2; shift ;;
    --advertise) need "$@"; advertise=$2; shift ;;
    --bin) need "$@"; bin=$2; shift ;;
    --) shift; extra=("$@"); break ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
  shift
done
[[ $region =~ ^[a-z0-9-]+$ ]] || die "--region is required, e.g. us-east-1"
[[ $prefix =~ ^[A-Za-z0-9_-]+$ ]] || die "--prefix: letters, digits, - and _ only"
for v in count memory port node_port; do [[ ${!v} =~ ^[0-9]+$ ]] || die "--${v/_/-} must be a number"; done

run() {
  if [ "$dry" -eq 1 ]; then echo "$*"; else "$@"; fi
}

if [ -z "$advertise" ]; then
  if [ "$dry" -eq 1 ]; then
    advertise="PRIVATE_IP:$node_port"
  else
    # IMDSv2: a session token, then this instance's private address
    t=$(curl -sf -m 2 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token) ||
      die "no instance metadata (not on EC2?): give --advertise IP:PORT"
    ip=$(curl -sf -m 2 -H "X-aws-ec2-metadata-token: $t" http://169.254.169.254/latest/meta-data/local-ipv4) ||
      die "cannot read this instance's local-ipv4 from the metadata service: give --advertise IP:PORT"
    advertise="$ip:$node_port"
  fi
fi
[ "$dry" -eq 1 ] || [ "$(id -u)" -eq 0 ] || die "run as root (sudo)"
[ "$dry" -eq 1 ] || [ -x "$bin" ] || die "$bin not found: run make first, or give --bin"

args="--platform aws --region $region --function-prefix $prefix --nodes $count --node-memory $memory"
args+=" -l $listen -p $port --node-listen 0.0.0.0 --node-port $node_port --advertise $advertise"
for a in "${extra[@]}"; do   # systemd splits the value at spaces and reads quotes and \ and $
  [[ $a =~ ^[A-Za-z0-9_.,:/=+@%-]+$ ]] || die "proxy flag \"$a\": only letters, digits and _.,:/=+@%- can go in the unit's environment"
  args+=" $a"
done
envfile="# fncache-proxy flags (deploy/aws/proxy-setup.sh); systemctl restart fncache-proxy after a change
FNCACHE_PROXY_ARGS=\"$args\""

run apt-get install -y -qq --no-install-recommends libuv1 libcurl4 libisal2 libcjson1 ca-certificates
run install -m 0755 "$bin" /usr/local/bin/fncache-proxy
if ! id fncache >/dev/null 2>&1 || [ "$dry" -eq 1 ]; then
  run useradd --system --no-create-home --shell /usr/sbin/nologin fncache
fi
run install -d -m 0755 /etc/fncache
if [ "$dry" -eq 1 ]; then
  printf 'cat > /etc/fncache/proxy.env <<EOF\n%s\nEOF\n' "$envfile"
else
  printf '%s\n' "$envfile" >/etc/fncache/proxy.env
fi
run install -m 0644 "$here/fncache-proxy.service" /etc/systemd/system/fncache-proxy.service
run systemctl daemon-reload
run systemctl enable fncache-proxy
run systemctl restart fncache-proxy

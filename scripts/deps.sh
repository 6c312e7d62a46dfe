#!/usr/bin/env bash
# Install the Debian packages fncache builds and tests with, when missing.
# Quick when everything is present: it only asks dpkg.
set -euo pipefail

PACKAGES=(
  build-essential pkg-config clang libclang-rt-14-dev
  libisal-dev            # ec/: Reed-Solomon and CRC
  libuv1-dev             # event loops
  libcurl4-openssl-dev   # HTTP invocation (Invoke API, Runtime API)
  libmicrohttpd-dev      # deploy/local: the local platform's HTTP server
  libcjson-dev           # JSON payloads
  libmemcached-dev libmemcached-tools   # client/ and real-client tests
  libcmocka-dev          # unit test framework
  memcached              # reference server for differential tests
  nutcracker             # twemproxy, for benchmarks
  python3 python3-pytest python3-pymemcache   # integration tests
  python3-matplotlib                          # paper-bench plots
  procps psmisc          # ps/pkill in tests
  zip unzip              # deploy/aws: the Lambda zip (make lambda-zip) and its test
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

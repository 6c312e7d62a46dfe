#!/usr/bin/env bash
# Package fncache-node as an AWS Lambda custom runtime zip (runtime
# provided.al2023, x86_64):
#
#   bootstrap             the entry Lambda runs: a shell script that starts
#                         the node through the loader packaged beside it
#   bin/fncache-node      the node, without debug sections
#   lib/                  every shared library the node loads, and the loader
#                         (ld-linux-x86-64.so.2) of the same glibc
#
# Debian 12 builds against glibc 2.36; Amazon Linux 2023 has 2.34, so the
# system's libraries and loader cannot be used there: the node runs on its
# own (as aws-lambda-cpp's packager does it). The script checks that every
# glibc symbol version needed is one the packaged libc provides.
#
# usage: deploy/aws/package.sh NODE_BINARY OUT.zip
set -euo pipefail

node=${1:?usage: package.sh NODE_BINARY OUT.zip}
out=${2:?usage: package.sh NODE_BINARY OUT.zip}
for tool in zip ldd objcopy objdump; do
  command -v "$tool" >/dev/null || { echo "package.sh: $tool is missing (scripts/deps.sh)" >&2; exit 1; }
done

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib"
objcopy --strip-debug "$node" "$stage/bin/fncache-node"

# ldd: "libx.so.1 => /lib/.../libx.so.1 (0x...)" and the loader "/lib64/ld-linux-x86-64.so.2 (0x...)"
loader=""
while read -r name arrow path _; do
  [ "$arrow" = "=>" ] && [ "$path" = not ] && { echo "package.sh: $name not found (ldd $node)" >&2; exit 1; }
  if [ "$arrow" = "=>" ] && [ -f "$path" ]; then
    cp -L "$path" "$stage/lib/$name"
  elif [[ $name == /*ld-linux* ]]; then
    loader=$name
  fi
done < <(ldd "$node")
[ -n "$loader" ] || { echo "package.sh: no loader in ldd $node" >&2; exit 1; }
cp -L "$loader" "$stage/lib/ld-linux-x86-64.so.2"
[ -f "$stage/lib/libc.so.6" ] || { echo "package.sh: libc.so.6 not found by ldd" >&2; exit 1; }

# glibc: the highest GLIBC_x.y any packaged file requires, and the packaged libc's own
needed=$(for f in "$stage"/bin/* "$stage"/lib/*; do objdump -p "$f"; done |
  awk '/required from/{lib=$3} /GLIBC_[0-9]/{if (lib ~ /^(libc|libm|libpthread|libdl|librt|libresolv|ld-linux)/) print $4}' |
  sort -uV | tail -1)
provided=$(objdump -T "$stage/lib/libc.so.6" | grep -oE 'GLIBC_[0-9]+\.[0-9]+(\.[0-9]+)?' | sort -uV | tail -1)
if [ "$(printf '%s\n%s\n' "$needed" "$provided" | sort -V | tail -1)" != "$provided" ]; then
  echo "package.sh: the files need $needed but the packaged libc provides only $provided" >&2
  exit 1
fi

cat >"$stage/bootstrap" <<'EOF'
#!/bin/sh
# fncache-node as a Lambda custom runtime: run it with the libraries and the
# loader packaged beside this script (the system's glibc may be older).
case $0 in */*) here=${0%/*} ;; *) here=. ;; esac
exec "$here/lib/ld-linux-x86-64.so.2" --library-path "$here/lib" "$here/bin/fncache-node" "$@"
EOF
chmod 0644 "$stage"/lib/*
chmod 0755 "$stage/bootstrap" "$stage/bin/fncache-node" "$stage/lib/ld-linux-x86-64.so.2"

# Same input, same zip: fixed times, sorted names, no extra attributes.
find "$stage" -exec touch -h -d "@${SOURCE_DATE_EPOCH:-946684800}" {} +
mkdir -p "$(dirname "$out")"
abs_out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
rm -f "$abs_out"
(cd "$stage" && find bootstrap bin lib -type f | LC_ALL=C sort | TZ=UTC zip -q -X -9 "$abs_out" -@)
echo "$out: $(du -k "$abs_out" | cut -f1) KB, $(ls "$stage/lib" | wc -l) libraries, needs $needed, bundles libc $provided"

#!/usr/bin/env bash
# Run every cmocka test program in DIR, each bounded in time, and print
# "N passed, N failed" as the last line. A program that crashes or times out
# counts as one failure beyond the cases it reported.
set -u
dir=${1:?usage: run-unit.sh DIR}
limit=${UNIT_TIMEOUT:-600}
pass=0 fail=0
for t in "$dir"/test_*; do
  [ -x "$t" ] || continue
  out=$(CMOCKA_MESSAGE_OUTPUT=TAP timeout --kill-after=5 "$limit" "$t" 2>&1)
  rc=$?
  p=$(grep -c '^ok ' <<<"$out")
  f=$(grep -c '^not ok ' <<<"$out")
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1
    echo "$out" | tail -40
    echo "# $(basename "$t"): exited with status $rc"
  elif [ "$f" -ne 0 ]; then
    grep -v '^ok ' <<<"$out"
  fi
  echo "$(basename "$t"): $p passed, $f failed"
  pass=$((pass + p)) fail=$((fail + f))
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

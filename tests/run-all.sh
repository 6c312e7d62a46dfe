#!/usr/bin/env bash
# The whole suite, as `make test` runs it: unit tests (release), unit tests
# under ASan+UBSan, then the integration tests (pytest) against bin/.
# Ends with one "N passed, N failed" line over everything.
set -u
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
total_pass=0 total_fail=0

tally() { # $1 = suite name, $2 = its output file
  local line p f
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$2" | tail -1)
  if [ -z "$line" ]; then p=0 f=1; else
    p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")
    f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
  fi
  echo "== $1: $p passed, $f failed"
  total_pass=$((total_pass + p)) total_fail=$((total_fail + f))
}

log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

for v in release asan; do
  echo "== unit tests ($v)"
  if make --no-print-directory -j"$JOBS" VARIANT=$v build tests >"$log/build-$v" 2>&1; then
    tests/run-unit.sh "build/$v/tests" 2>&1 | tee "$log/unit-$v"
  else
    tail -50 "$log/build-$v"; echo "0 passed, 1 failed" >"$log/unit-$v"
  fi
  tally "unit ($v)" "$log/unit-$v"
done

if ls tests/integration/test_*.py >/dev/null 2>&1; then
  echo "== integration tests"
  /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration 2>&1 | tee "$log/integ"
  # pytest's last line: "== 3 passed, 1 failed in 2.0s ==" (either part may be absent)
  last=$(tail -1 "$log/integ")
  p=$(grep -oE '[0-9]+ passed' <<<"$last" | awk '{s+=$1} END{print s+0}')
  f=$(grep -oE '[0-9]+ (failed|errors?)' <<<"$last" | awk '{s+=$1} END{print s+0}')
  grep -qE 'passed|failed|error|no tests ran' <<<"$last" || f=$((f + 1))
  echo "$p passed, $f failed" >"$log/integ-sum"
  tally "integration" "$log/integ-sum"
fi

echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]

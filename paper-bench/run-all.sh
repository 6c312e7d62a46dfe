#!/usr/bin/env bash
# Every paper-bench experiment in order (experiment 4 calibrates from 1-3).
# Arguments go to each script: --full, --tiny, --redo, --seed N, --out DIR.
set -euo pipefail
cd "$(dirname "$0")"
PY=/usr/bin/python3
start=$SECONDS
for e in exp1_latency exp2_cost exp3_availability exp4_scale; do
  t=$SECONDS
  echo "=== $e $*"
  $PY ./$e.py "$@"
  echo "=== $e: $((SECONDS - t)) s"
done
echo "=== paper-bench: all done in $((SECONDS - start)) s"

#!/bin/sh
# run-fuzz.sh TARGET SEED_DIR SCRATCH_DIR RUNS
# A bounded libFuzzer run: new inputs go to SCRATCH_DIR, the seeds are only read.
set -eu
target=$1 seeds=$2 scratch=$3 runs=$4
mkdir -p "$scratch"
exec "$target" -runs="$runs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 "$scratch" "$seeds"

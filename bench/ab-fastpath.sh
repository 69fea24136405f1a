#!/usr/bin/env bash
# A/B of the in-process OpenFlow pipeline between two trees (BASE, NEW: each with dist/ built by
# `npx tsc -p tsconfig.bench.json`), interleaved round by round, pinned to CPU ${CPU:-1}.
# Each run prints the learning switch and the OpenFlow pipeline on cache hits at 0 (the 4-flow
# bench), 10, 1,000 and 100,000 extra flows (all built first, run interleaved round by round in
# the process): frames/s over wall time and over CPU time, and each count against 10 flows.
# Extra arguments go to of-pipeline.js (e.g. --megaflow: NEW trees that know it also print the megaflow cache).
# Usage: BASE=/path/to/base NEW=/path/to/new ROUNDS=3 bench/ab-fastpath.sh [--megaflow]
set -u
BASE=${BASE:?set BASE to the baseline tree}
NEW=${NEW:-$(cd "$(dirname "$0")/.." && pwd)}
ROUNDS=${ROUNDS:-3}
for r in $(seq 1 "$ROUNDS"); do
  for t in "$BASE" "$NEW"; do
    name=$([ "$t" = "$BASE" ] && echo base || echo new)
    taskset -c "${CPU:-1}" node "$t/dist/bench/of-pipeline.js" --learning "$@" --flows 0 10 1000 100000 | sed "s/^/round $r $name | /"
  done
done

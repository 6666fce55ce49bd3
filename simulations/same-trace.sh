#!/bin/bash
# usage: simulations/same-trace.sh DIST_A DIST_B   (each a tsc outDir holding simulations/cli.js)
# Checks that a change to the node or the simulator is a pure optimisation: the same seeds give the
# same event trace, coverage and facts on both builds. Build each with
#   npx tsc -p tsconfig.json --outDir .work/NAME/dist   (e.g. one from a git worktree of the base commit)
# Runs 16 configurations on both builds and compares trace hashes and pass/fail. Exit 1 on any difference.
a=$1; b=$2; fail=0
configs=(
 "--scenario none --workload mixed --seed 1 --duration 30s"
 "--scenario partition-halves --workload set-add --seed 42 --duration 30s"
 "--scenario isolate-one --workload register --seed 3 --duration 30s"
 "--scenario majorities-ring --workload mixed --seed 4 --duration 30s"
 "--scenario bridge --workload set-add --seed 5 --duration 30s"
 "--scenario one-way --workload mixed --seed 6 --duration 30s"
 "--scenario crash-restart --workload mixed --seed 7 --duration 30s"
 "--scenario pause --workload register --seed 8 --duration 30s"
 "--scenario clock-skew --workload mixed --seed 9 --duration 30s"
 "--scenario packet-loss --workload set-add --seed 10 --duration 30s"
 "--scenario packet-duplication --workload mixed --seed 11 --duration 30s"
 "--scenario packet-reorder --workload register --seed 12 --duration 30s"
 "--scenario restart-clock-step --workload mixed --seed 13 --duration 30s"
 "--scenario mixed --workload mixed --seed 1359 --duration 60s"
 "--scenario mixed --workload set-add --seed 14 --duration 30s --wire cbor"
 "--scenario crash-restart --workload mixed --seed 15 --duration 30s --fsync always --w 1"
)
for c in "${configs[@]}"; do
  ha=$(node $a/simulations/cli.js $c 2>&1 | grep -oE "trace=[0-9a-f]+ events=[0-9]+|^coverage:.*|^facts:.*|RESULT: [A-Z]+" | md5sum | tr '\n' ' ')
  hb=$(node $b/simulations/cli.js $c 2>&1 | grep -oE "trace=[0-9a-f]+ events=[0-9]+|^coverage:.*|^facts:.*|RESULT: [A-Z]+" | md5sum | tr '\n' ' ')
  if [ "$ha" == "$hb" ]; then echo "same  $c : $ha"; else echo "DIFF  $c : A=[$ha] B=[$hb]"; fail=1; fi
done
exit $fail

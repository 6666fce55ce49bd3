#!/usr/bin/env bash
# Dev helper, not a test: redis-benchmark against two servers, interleaved, reporting throughput
# and server CPU per request (CPU time from /proc, steadier than throughput on a shared machine).
#   [BENCH_PREFIX="taskset -c 1"] bash test/api/resp/bench-compare.sh PORT_A PID_A PORT_B PID_B [ROUNDS] [extra redis-benchmark args, e.g. -P 16]
set -euo pipefail
port_a=$1 pid_a=$2 port_b=$3 pid_b=$4 rounds=${5:-3}
shift $(( $# >= 5 ? 5 : 4 ))
n=200000
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_per_s=$(getconf CLK_TCK)
for round in $(seq 1 "$rounds"); do
  for side in a b; do
    if [ "$side" = a ]; then port=$port_a pid=$pid_a; else port=$port_b pid=$pid_b; fi
    for test in set get; do
      before=$(cpu_ticks "$pid")
      rps=$(${BENCH_PREFIX:-} redis-benchmark -h 127.0.0.1 -p "$port" -c 50 -t "$test" -r 100000 -d 100 -n "$n" -q "$@" 2>&1 | tr '\r' '\n' | grep 'requests per second' | awk '{print $2}')
      after=$(cpu_ticks "$pid")
      cpu_us=$(awk -v t=$((after - before)) -v hz="$ticks_per_s" -v n=$n 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
      echo "round=$round port=$port test=$test rps=$rps cpu_us_per_request=$cpu_us"
    done
  done
done

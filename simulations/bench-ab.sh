#!/bin/bash
# usage: simulations/bench-ab.sh DIST_A DIST_B [RUNS=7] [bench.js options...]
# The simulator benchmark (bench.ts) on two builds side by side: runs alternate A, B, A, B ... so a
# noisy shared machine slows both alike; prints every run's wall and CPU seconds, the medians, the
# speed at the median and the ratio. Build each with `npx tsc -p tsconfig.json --outDir DIR`
# (see simulations/README.md for a build of an older commit).
set -euo pipefail
a=$1; b=$2; runs=${3:-7}; shift $(( $# < 3 ? $# : 3 ))
out=$(mktemp)
for i in $(seq "$runs"); do
  for d in "$a" "$b"; do
    line=$(node "$d/simulations/bench.js" "$@" | grep -E '^simulated ')
    # "simulated 125.3 s in 1.97 s wall (2.87 s CPU)"
    echo "$d $(echo "$line" | awk '{print $2, $5, substr($8, 2)}')" | tee -a "$out"
  done
done
awk -v a="$a" -v b="$b" '
  function median(s,   n, v, i, j, t) { n = split(s, v, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
  { sim[$1] = $2; wall[$1] = wall[$1] " " $3; cpu[$1] = cpu[$1] " " $4 }
  END {
    for (k = 1; k <= 2; k++) { d = k == 1 ? a : b; mw[d] = median(wall[d]); mc[d] = median(cpu[d])
      printf "%s: median %.2f s wall, %.2f s CPU, %.0fx real time (walls:%s)\n", d, mw[d], mc[d], sim[d] / mw[d], wall[d] }
    printf "B is %.2fx as fast as A (wall medians), %.2fx by CPU\n", mw[a] / mw[b], mc[a] / mc[b]
  }' "$out"
rm -f "$out"

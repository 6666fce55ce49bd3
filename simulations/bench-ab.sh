#!/bin/bash
# usage: [NODE_A=node] [NODE_B=node] simulations/bench-ab.sh DIST_A DIST_B [RUNS=7] [bench.js options...]
# The simulator benchmark (bench.ts) on two builds, or two Node.js runtimes, side by side:
# invocations alternate A, B, A, B ... so a noisy shared machine slows both alike; prints every
# invocation's cold figure (its first run, JIT warm-up included) and warm figure (the median of its
# later runs; builds older than the --runs option print only a cold one), the medians of both and
# the ratios. Build each with `npx tsc -p tsconfig.json --outDir DIR` (see simulations/README.md
# for a build of an older commit). NODE_A / NODE_B name the node binary each side runs (default
# `node`): the same build on two runtimes is `NODE_B=/path/to/node simulations/bench-ab.sh dist dist`.
set -euo pipefail
a=$1; b=$2; runs=${3:-7}; shift $(( $# < 3 ? $# : 3 ))
node_a=${NODE_A:-node}; node_b=${NODE_B:-node}
echo "A: $a on $node_a $("$node_a" --version)"
echo "B: $b on $node_b $("$node_b" --version)"
out=$(mktemp)
for i in $(seq "$runs"); do
  for side in A B; do
    if [ "$side" = A ]; then d=$a; n=$node_a; else d=$b; n=$node_b; fi
    text=$("$n" "$d/simulations/bench.js" "$@")
    # "cold: simulated 125.3 s in 1.97 s wall (2.87 s CPU)", or "simulated ..." from older builds.
    cold=$(echo "$text" | grep -E '^(cold: )?simulated ' | head -1 | sed 's/^cold: //')
    warm=$(echo "$text" | grep -E '^warm .*: simulated ' | sed 's/^warm [^:]*: //' || true)
    c=$(echo "$cold" | awk '{print $2, $5, substr($8, 2)}')
    w=$(if [ -n "$warm" ]; then echo "$warm" | awk '{print $5, substr($8, 2)}'; else echo "- -"; fi)
    echo "$side $c $w" | tee -a "$out"
  done
done
awk '
  function median(s,   n, v, i, j, t) { n = split(s, v, " "); if (n == 0) return 0
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
  { sim[$1] = $2; wall[$1] = wall[$1] " " $3; cpu[$1] = cpu[$1] " " $4; if ($5 != "-") { ww[$1] = ww[$1] " " $5; wc[$1] = wc[$1] " " $6 } }
  END {
    for (k = 1; k <= 2; k++) { d = k == 1 ? "A" : "B"; mw[d] = median(wall[d]); mc[d] = median(cpu[d]); mww[d] = median(ww[d]); mwc[d] = median(wc[d])
      printf "%s: cold median %.2f s wall, %.2f s CPU, %.0fx real time (walls:%s)\n", d, mw[d], mc[d], sim[d] / mw[d], wall[d]
      if (mww[d] > 0) printf "%s: warm median %.2f s wall, %.2f s CPU, %.0fx real time (walls:%s)\n", d, mww[d], mwc[d], sim[d] / mww[d], ww[d] }
    printf "cold: B is %.2fx as fast as A (wall medians), %.2fx by CPU\n", mw["A"] / mw["B"], mc["A"] / mc["B"]
    if (mww["A"] > 0 && mww["B"] > 0) printf "warm: B is %.2fx as fast as A (wall medians), %.2fx by CPU\n", mww["A"] / mww["B"], mwc["A"] / mwc["B"]
  }' "$out"
rm -f "$out"

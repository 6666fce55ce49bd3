/**
 * The phi accrual failure detector (Hayashibara et al. 2004), in the normal-distribution form used
 * by Akka and Cassandra's successors: phi = -log10(P(a heartbeat arrives later than `elapsed`)), with
 * the inter-arrival times modelled as a normal distribution estimated from a bounded window of
 * samples.
 *
 * Why phi accrual and not SWIM probes: ringkv gossips every member's heartbeat anyway (push-pull
 * every `gossipIntervalMs`), so the detector costs no extra message, and a heartbeat reaches a
 * node through any gossip path, which gives SWIM's indirect probing for free (one blocked link does
 * not hide a member). Heartbeats relayed by gossip arrive at irregular intervals (a version may
 * come straight from the member, or two hops later, or two versions at once); phi adapts its
 * threshold to the spread it measures instead of using one fixed timeout. SWIM's other half,
 * suspicion with refutation, is kept on top (membership.ts): phi decides `suspect`, and only an
 * unrefuted suspicion becomes `dead`.
 *
 * Three guards against the irregular arrivals of gossip, as in Akka:
 * - a bounded sample window (`sampleWindowSize`), so memory is bounded and old conditions fade;
 * - a minimum standard deviation (`minStdDeviationMs`), so a run of very regular arrivals does not
 *   make the detector convict on the first slightly late one;
 * - an acceptable pause (`acceptableHeartbeatPauseMs`) added to the mean, for GC or event-loop
 *   stalls and for the multi-hop delay of relayed heartbeats.
 */
import { assert } from '../assert.js';

export interface PhiAccrualOptions {
  /** Number of inter-arrival samples kept (ring buffer). */
  readonly sampleWindowSize: number;
  /** Lower bound on the standard deviation used by phi, ms. */
  readonly minStdDeviationMs: number;
  /** Added to the mean inter-arrival time before computing phi, ms. */
  readonly acceptableHeartbeatPauseMs: number;
  /** Mean assumed before any sample arrived, ms; seeded as two samples mean ± mean/4 (Akka). */
  readonly firstHeartbeatEstimateMs: number;
}

/**
 * phi for an elapsed time given the mean and standard deviation of the inter-arrival times, using
 * the logistic approximation of the normal CDF (Bowling et al. 2009) that Akka uses: it is accurate
 * to 1e-4 and does not underflow to 0 until phi is far above any threshold.
 */
export function phiOf(elapsedMs: number, meanMs: number, stdDeviationMs: number): number {
  assert(stdDeviationMs > 0, 'phi needs a positive standard deviation');
  const y = (elapsedMs - meanMs) / stdDeviationMs;
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
  if (elapsedMs > meanMs) return -Math.log10(e / (1 + e));
  // max() also turns -log10(1) = -0 into 0.
  return Math.max(0, -Math.log10(1 - 1 / (1 + e)));
}

/**
 * An upper bound on phiOf(elapsed, mean, sd) for every elapsed ≤ mean: there y ≤ 0, so e ≥ 1 and
 * phi = -log10(1 - 1/(1 + e)) ≤ -log10(1/2) = 0.30103 (a few ulps of rounding are far below the
 * margin). Any threshold above it cannot be reached before the mean has elapsed, which lets the
 * detector answer "not yet" without the exp and log (PhiAccrualDetector.phiReaches).
 */
export const PHI_MAX_UNTIL_MEAN = 0.3011;

/**
 * The elapsed time at which phi reaches `threshold` (the inverse of phiOf, by bisection), for the
 * arithmetic in comments, tests and logs. Detection time is `mean + pause + y·sd` with y ≈ 5.23 for
 * phi = 8 and y ≈ 4.12 for phi = 5.
 */
export function elapsedForPhi(threshold: number, meanMs: number, stdDeviationMs: number): number {
  assert(threshold > 0, 'phi threshold must be positive');
  let lo = meanMs;
  let hi = meanMs + 64 * stdDeviationMs;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (phiOf(mid, meanMs, stdDeviationMs) < threshold) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** One member's arrival window: the time of the last heartbeat and the recent inter-arrival times. */
export class PhiAccrualDetector {
  private readonly samples: Float64Array;
  private count = 0;
  private next = 0;
  private sum = 0;
  private sumOfSquares = 0;
  private lastArrivalMs: number;

  /** Starts the clock at `nowMs` as if a heartbeat had just arrived (the member was just learned of). */
  constructor(private readonly options: PhiAccrualOptions, nowMs: number) {
    assert(Number.isInteger(options.sampleWindowSize) && options.sampleWindowSize >= 2, 'sample window needs at least 2 slots');
    assert(options.minStdDeviationMs > 0, 'minStdDeviationMs must be positive');
    assert(options.firstHeartbeatEstimateMs > 0, 'firstHeartbeatEstimateMs must be positive');
    this.samples = new Float64Array(options.sampleWindowSize);
    this.lastArrivalMs = nowMs;
    const estimate = options.firstHeartbeatEstimateMs;
    this.addSample(estimate - estimate / 4);
    this.addSample(estimate + estimate / 4);
  }

  /** A fresh heartbeat arrived: records the interval since the previous one. */
  heartbeat(nowMs: number): void {
    const intervalMs = nowMs - this.lastArrivalMs;
    assert(intervalMs >= 0, 'the clock went backwards');
    this.addSample(intervalMs);
    this.lastArrivalMs = nowMs;
  }

  /**
   * A heartbeat arrived after a gap the detector already judged abnormal (the member was suspect,
   * dead or restarted): restart the clock without recording the gap, so one partition does not
   * inflate the mean and the deviation for the whole window (Cassandra drops such intervals too).
   */
  restartClock(nowMs: number): void {
    assert(nowMs >= this.lastArrivalMs, 'the clock went backwards');
    this.lastArrivalMs = nowMs;
  }

  /** The suspicion level now: 0 right after a heartbeat, growing the longer none arrives. */
  phi(nowMs: number): number {
    const elapsedMs = Math.max(0, nowMs - this.lastArrivalMs);
    return phiOf(elapsedMs, this.meanMs() + this.options.acceptableHeartbeatPauseMs, this.stdDeviationMs());
  }

  /**
   * Whether phi(nowMs) ≥ threshold, exactly as comparing phi() would answer. The failure detector
   * asks this of every member on every tick, and almost always the last heartbeat is younger than
   * the mean (plus the acceptable pause), where phi cannot exceed PHI_MAX_UNTIL_MEAN: then the
   * answer needs neither the deviation's square root nor phi's exp and log.
   */
  phiReaches(threshold: number, nowMs: number): boolean {
    const elapsedMs = Math.max(0, nowMs - this.lastArrivalMs);
    const meanMs = this.meanMs() + this.options.acceptableHeartbeatPauseMs;
    if (elapsedMs <= meanMs && threshold > PHI_MAX_UNTIL_MEAN) return false;
    return phiOf(elapsedMs, meanMs, this.stdDeviationMs()) >= threshold;
  }

  /** Elapsed time since the last heartbeat at which phi reaches `threshold`, with the current window. */
  detectionDelayMs(threshold: number): number {
    return elapsedForPhi(threshold, this.meanMs() + this.options.acceptableHeartbeatPauseMs, this.stdDeviationMs());
  }

  get lastHeartbeatAtMs(): number {
    return this.lastArrivalMs;
  }

  get sampleCount(): number {
    return this.count;
  }

  meanMs(): number {
    assert(this.count > 0, 'the window is never empty');
    return this.sum / this.count;
  }

  /** The standard deviation used by phi: the measured one, at least `minStdDeviationMs`. */
  stdDeviationMs(): number {
    const mean = this.meanMs();
    const variance = Math.max(0, this.sumOfSquares / this.count - mean * mean);
    return Math.max(Math.sqrt(variance), this.options.minStdDeviationMs);
  }

  private addSample(intervalMs: number): void {
    assert(Number.isFinite(intervalMs) && intervalMs >= 0, 'an interval is a finite non-negative number');
    const capacity = this.samples.length;
    if (this.count === capacity) {
      const evicted = this.samples[this.next] ?? 0;
      this.sum -= evicted;
      this.sumOfSquares -= evicted * evicted;
    } else {
      this.count++;
    }
    this.samples[this.next] = intervalMs;
    this.sum += intervalMs;
    this.sumOfSquares += intervalMs * intervalMs;
    this.next = (this.next + 1) % capacity;
    // Running sums drift by rounding; recompute them once per lap of the ring buffer.
    if (this.next === 0) this.recomputeSums();
  }

  private recomputeSums(): void {
    let sum = 0;
    let sumOfSquares = 0;
    for (let i = 0; i < this.count; i++) {
      const v = this.samples[i] ?? 0;
      sum += v;
      sumOfSquares += v * v;
    }
    this.sum = sum;
    this.sumOfSquares = sumOfSquares;
  }
}

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { PHI_MAX_UNTIL_MEAN, PhiAccrualDetector, elapsedForPhi, phiOf, type PhiAccrualOptions } from '../../../src/core/membership/phi-accrual.js';

const options: PhiAccrualOptions = {
  sampleWindowSize: 200,
  minStdDeviationMs: 100,
  acceptableHeartbeatPauseMs: 600,
  firstHeartbeatEstimateMs: 400,
};

/** Feeds `count` heartbeats every `intervalMs`, starting at `startMs`; returns the time of the last one. */
function feed(detector: PhiAccrualDetector, startMs: number, count: number, intervalMs: number): number {
  let t = startMs;
  for (let i = 0; i < count; i++) {
    t += intervalMs;
    detector.heartbeat(t);
  }
  return t;
}

describe('phiOf', () => {
  test('phi at the mean is -log10(0.5), the normal median', () => {
    // Shows the logistic approximation is centred: half the heartbeats arrive later than the mean.
    expect(phiOf(200, 200, 50)).toBeCloseTo(Math.log10(2), 3);
  });

  test('phi grows with the elapsed time and reaches 8 about 5.23 deviations above the mean', () => {
    // Shows the arithmetic used for the detection bound in options.ts: y ≈ 5.23 for phi = 8.
    let previous = -1;
    for (let elapsed = 0; elapsed <= 2000; elapsed += 50) {
      const phi = phiOf(elapsed, 800, 100);
      expect(phi).toBeGreaterThanOrEqual(previous);
      previous = phi;
    }
    const y = (elapsedForPhi(8, 800, 100) - 800) / 100;
    expect(y).toBeGreaterThan(5.2);
    expect(y).toBeLessThan(5.25);
    expect(phiOf(800 + 100 * y, 800, 100)).toBeCloseTo(8, 6);
  });

  test('phi stays finite-or-infinite, never NaN, far in the tails', () => {
    // Shows the formula does not produce NaN when exp() overflows or underflows.
    expect(phiOf(0, 1e6, 1)).toBe(0);
    expect(Number.isNaN(phiOf(1e9, 200, 100))).toBe(false);
    expect(phiOf(1e9, 200, 100)).toBeGreaterThan(1000);
  });
});

describe('PhiAccrualDetector', () => {
  test('before any sample it assumes the first-heartbeat estimate: mean 400 ms, deviation 100 ms', () => {
    // Shows the bootstrap: two seeded samples 300 and 500 (estimate ± estimate/4, as in Akka).
    const d = new PhiAccrualDetector(options, 1000);
    expect(d.sampleCount).toBe(2);
    expect(d.meanMs()).toBe(400);
    expect(d.stdDeviationMs()).toBe(100);
    expect(d.phi(1000)).toBeLessThan(0.01);
  });

  test('with regular 200 ms heartbeats it crosses phi 8 at mean + pause + 5.23 × minimum deviation', () => {
    // Shows the detection delay of options.ts: 200 + 600 + 523 ≈ 1.32 s after the last heartbeat.
    const d = new PhiAccrualDetector(options, 0);
    const last = feed(d, 0, 400, 200);
    expect(d.meanMs()).toBeCloseTo(200, 6);
    expect(d.stdDeviationMs()).toBe(100);
    const delay = d.detectionDelayMs(8);
    expect(delay).toBeGreaterThan(1315);
    expect(delay).toBeLessThan(1330);
    expect(d.phi(last + delay - 5)).toBeLessThan(8);
    expect(d.phi(last + delay + 5)).toBeGreaterThanOrEqual(8);
  });

  test('irregular arrivals widen the deviation and so delay the suspicion', () => {
    // Shows phi adapts to gossip's irregular arrivals: 100/300 ms alternating gives sd 100 → floor; 50/350 gives 150.
    const regular = new PhiAccrualDetector(options, 0);
    feed(regular, 0, 400, 200);
    const irregular = new PhiAccrualDetector(options, 0);
    let t = 0;
    for (let i = 0; i < 400; i++) {
      t += i % 2 === 0 ? 50 : 350;
      irregular.heartbeat(t);
    }
    expect(irregular.meanMs()).toBeCloseTo(200, 6);
    expect(irregular.stdDeviationMs()).toBeCloseTo(150, 6);
    expect(irregular.detectionDelayMs(8) - regular.detectionDelayMs(8)).toBeGreaterThan(250);
  });

  test('the window is bounded: only the last sampleWindowSize intervals count', () => {
    // Shows old conditions fade: after 200 samples of 500 ms, earlier 100 ms samples are gone.
    const d = new PhiAccrualDetector(options, 0);
    const t = feed(d, 0, 1000, 100);
    feed(d, t, 200, 500);
    expect(d.sampleCount).toBe(200);
    expect(d.meanMs()).toBeCloseTo(500, 6);
    expect(d.stdDeviationMs()).toBe(100);
  });

  test('running sums stay exact over many laps of the ring buffer', () => {
    // Shows the periodic recomputation keeps the mean exact despite float rounding.
    const d = new PhiAccrualDetector({ ...options, sampleWindowSize: 7 }, 0);
    let t = 0;
    const intervals = [123.4567, 0.1, 987.654321, 33.3, 1e-3, 250, 199.99];
    for (let i = 0; i < 70_000; i++) {
      t += intervals[i % intervals.length] ?? 0;
      d.heartbeat(t);
    }
    const mean = intervals.reduce((a, b) => a + b, 0) / intervals.length;
    expect(d.meanMs()).toBeCloseTo(mean, 9);
  });

  test('restartClock resets the elapsed time without recording the gap as a sample', () => {
    // Shows a partition's long gap does not inflate the window (Cassandra drops such intervals too).
    const d = new PhiAccrualDetector(options, 0);
    const last = feed(d, 0, 50, 200);
    const meanBefore = d.meanMs();
    expect(d.phi(last + 10_000)).toBeGreaterThan(8);
    d.restartClock(last + 10_000);
    expect(d.sampleCount).toBe(52);
    expect(d.meanMs()).toBe(meanBefore);
    expect(d.phi(last + 10_000)).toBeLessThan(0.01);
  });
});

describe('phiReaches, the failure detector\'s shortcut', () => {
  test('phi never exceeds PHI_MAX_UNTIL_MEAN before the mean has elapsed', () => {
    // Shows the bound the shortcut relies on, over means, deviations and elapsed times of every scale.
    fc.assert(fc.property(fc.double({ min: 0, max: 1e7, noNaN: true }), fc.double({ min: 1e-3, max: 1e6, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }), (meanMs, sd, fraction) => {
        expect(phiOf(meanMs * fraction, meanMs, sd)).toBeLessThanOrEqual(PHI_MAX_UNTIL_MEAN);
        expect(phiOf(meanMs, meanMs, sd)).toBeLessThanOrEqual(PHI_MAX_UNTIL_MEAN);
      }), { numRuns: 2000, seed: 3 });
    expect(Math.log10(2)).toBeLessThan(PHI_MAX_UNTIL_MEAN);
  });

  test('answers exactly as comparing phi() with the threshold', () => {
    // Shows the shortcut changes no verdict: random arrival histories, thresholds (below and above
    // the bound) and probe times, including the exact mean + pause boundary.
    const threshold = fc.oneof(fc.constantFrom(0.1, 0.3, PHI_MAX_UNTIL_MEAN, 0.302, 1, 5, 8, 16), fc.double({ min: 0.1, max: 50, noNaN: true }));
    fc.assert(fc.property(fc.array(fc.nat(3000), { minLength: 0, maxLength: 40 }), threshold, fc.nat(5000), fc.boolean(), (gaps, t, probe, atBoundary) => {
      const d = new PhiAccrualDetector(options, 0);
      let now = 0;
      for (const gap of gaps) {
        now += gap;
        d.heartbeat(now);
      }
      const at = atBoundary ? d.lastHeartbeatAtMs + d.meanMs() + options.acceptableHeartbeatPauseMs : now + probe;
      expect(d.phiReaches(t, at)).toBe(d.phi(at) >= t);
    }), { numRuns: 3000, seed: 9 });
  });
});

/**
 * Staleness (PBS) measurements through the real coordinator: they reproduce the shape of Bailis et
 * al.'s results for the WARS models, and strict quorums (R + W > N) are never stale.
 */
import { describe, expect, test } from 'vitest';
import { measureStaleness } from '../../simulations/staleness/pbs.js';
import { stalenessSvg } from '../../simulations/staleness/svg.js';
import { warsModel, type WarsModel } from '../../simulations/staleness/wars.js';

function model(name: string): WarsModel {
  const m = warsModel(name);
  if (m === undefined) throw new Error(`no model ${name}`);
  return m;
}

describe('PBS t-visibility', () => {
  test('LNKD-SSD, N=3 R=W=1: about 97% consistent at once and 99.9% within a few ms', async () => {
    // Shows the paper's LNKD-SSD figures (≈97.4% at t=0, 99.9% in under 2 ms) from our coordinator.
    const result = await measureStaleness({ model: model('LNKD-SSD'), n: 3, r: 1, w: 1, trials: 3000, seed: 11 });
    const atZero = result.points.find((p) => p.tMs === 0);
    expect(atZero?.probability).toBeGreaterThan(0.95);
    expect(atZero?.probability).toBeLessThan(0.99);
    expect(result.tAtTargetMs).toBeDefined();
    expect(result.tAtTargetMs).toBeLessThan(5);
    expect(result.failedRequests).toBe(0);
    expect(stalenessSvg([result], 'test')).toContain('<polyline');
  });

  test('LNKD-DISK, N=3 R=W=1: slow disk writes make fresh reads stale far longer', async () => {
    // Shows the W distribution alone (disk writes) moves the 99.9% point from ms to tens of ms.
    const result = await measureStaleness({ model: model('LNKD-DISK'), n: 3, r: 1, w: 1, trials: 3000, seed: 12 });
    expect(result.points.find((p) => p.tMs === 0)?.probability).toBeLessThan(0.6);
    expect(result.tAtTargetMs).toBeGreaterThan(15);
    expect(result.tAtTargetMs).toBeLessThan(200);
  });

  test('strict quorums (R + W > N) are never stale, whatever the latencies', async () => {
    // Shows quorum intersection through the real coordinator: every read, simulated in full, sees the write.
    for (const [r, w] of [[2, 2], [1, 3], [3, 1]] as const) {
      const result = await measureStaleness({
        model: model('YMMR'), n: 3, r, w, trials: 400, gridMs: [0, 1, 10], refinePoints: 0, skipSettledReads: false, seed: 13,
      });
      for (const p of result.points) expect(p.probability).toBe(1);
      expect(result.settledReads).toBe(0);
    }
  });
});

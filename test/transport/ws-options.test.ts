// WsTransport options: defaults applied in one place, bad bounds refused, and the reconnect
// backoff growing exponentially up to its cap with jitter.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/env.js';
import { InvalidConfigError } from '../../src/errors.js';
import { reconnectDelayMs, resolveWsTransportOptions, WS_TRANSPORT_DEFAULTS } from '../../src/runtime/ws-options.js';

const required = { localId: 'n1', localAddress: '127.0.0.1:7001', clusterName: 'dev', logger: silentLogger };

describe('resolveWsTransportOptions', () => {
  it('fills every bound from the defaults', () => {
    // With only the required fields, every bound takes its documented default.
    const resolved = resolveWsTransportOptions(required);
    expect(resolved).toMatchObject(WS_TRANSPORT_DEFAULTS);
    expect(resolved.maxFrameBytes).toBe(64 * 1024 * 1024);
    expect(resolved.random).toBe(Math.random);
  });

  it('refuses bounds that make no sense, naming the option', () => {
    // Zero, negative, fractional bounds and a backoff minimum above its maximum are InvalidConfigErrors.
    const bad: Array<Record<string, unknown>> = [
      { maxSendQueueFrames: 0 },
      { maxFrameBytes: -1 },
      { handshakeTimeoutMs: 1.5 },
      { reconnectBackoffMinMs: 500, reconnectBackoffMaxMs: 100 },
      { keepaliveIntervalMs: 1000, deadConnectionTimeoutMs: 1000 },
      { clusterName: '' },
    ];
    for (const options of bad) {
      expect(() => resolveWsTransportOptions({ ...required, ...options }), JSON.stringify(options)).toThrow(InvalidConfigError);
    }
    expect(() => resolveWsTransportOptions({ ...required, maxSendQueueFrames: 0 })).toThrow(/maxSendQueueFrames/);
  });
});

describe('reconnectDelayMs', () => {
  it('doubles from the minimum up to the cap, with half of each delay random', () => {
    // With the random source at 0 the delay is half the ceiling, at 1 the whole ceiling; the ceiling doubles per failure and stops at the cap.
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => reconnectDelayMs(n, 100, 5000, () => 1))).toEqual([100, 200, 400, 800, 1600, 3200, 5000]);
    expect([1, 2, 3].map((n) => reconnectDelayMs(n, 100, 5000, () => 0))).toEqual([50, 100, 200]);
    expect(reconnectDelayMs(1000, 100, 5000, () => 0)).toBe(2500);
  });

  it('stays within [min/2, max] for any failure count and random draw', () => {
    // No failure count, however large, and no draw gives a delay below half the minimum or above the cap.
    fc.assert(fc.property(fc.integer({ min: 0, max: 10_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 0, max: 100_000 }), (failures, r, minMs, extraMs) => {
        const delayMs = reconnectDelayMs(failures, minMs, minMs + extraMs, () => r);
        expect(delayMs).toBeGreaterThanOrEqual(Math.floor(minMs / 2));
        expect(delayMs).toBeLessThanOrEqual(minMs + extraMs);
      }));
  });
});

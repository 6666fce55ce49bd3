import { Registry, type Metric } from 'prom-client';
import { describe, expect, test } from 'vitest';
import { LatencyHistogram } from '../../src/runtime/metrics.js';

function line(text: string, prefix: string): number {
  const found = text.split('\n').find((l) => l.startsWith(prefix + ' '));
  if (found === undefined) throw new Error(`no line ${prefix} in\n${text}`);
  return Number(found.slice(prefix.length + 1));
}

describe('LatencyHistogram', () => {
  test('renders cumulative buckets, sum and count in the Prometheus format, per op', async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ node: 'n1' });
    const h = new LatencyHistogram('t_seconds', 'test latency', [0.001, 0.01, 0.1]);
    registry.registerMetric(h as unknown as Metric);
    h.observe('get', 0.0005);
    h.observe('get', 0.001); // on a bound: counted in that bucket (le is inclusive)
    h.observe('get', 0.05);
    h.observe('get', 7);
    h.observe('put', 0.02);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE t_seconds histogram');
    expect(line(text, 't_seconds_bucket{op="get",le="0.001",node="n1"}')).toBe(2);
    expect(line(text, 't_seconds_bucket{op="get",le="0.01",node="n1"}')).toBe(2);
    expect(line(text, 't_seconds_bucket{op="get",le="0.1",node="n1"}')).toBe(3);
    expect(line(text, 't_seconds_bucket{op="get",le="+Inf",node="n1"}')).toBe(4);
    expect(line(text, 't_seconds_count{op="get",node="n1"}')).toBe(4);
    expect(line(text, 't_seconds_sum{op="get",node="n1"}')).toBeCloseTo(7.0515, 6);
    expect(line(text, 't_seconds_bucket{op="put",le="0.01",node="n1"}')).toBe(0);
    expect(line(text, 't_seconds_bucket{op="put",le="0.1",node="n1"}')).toBe(1);
  });
});

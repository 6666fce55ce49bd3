/**
 * Message latency distributions, in milliseconds: constant, exponential, Pareto, mixtures of those
 * (the WARS models of Bailis et al., PBS, VLDB 2012, are Pareto/exponential mixtures) and a scaled
 * form for per-link variation. A model prints as text and parses back from it, so a run's SEED line
 * can name its latency model and a replay command can pass it on:
 *
 *   const(2)                        always 2 ms
 *   exp(1.66)                       exponential with rate λ = 1.66 per ms (mean 1/λ ≈ 0.60 ms)
 *   pareto(0.235,10)                Pareto with scale xm = 0.235 ms and shape α = 10
 *   0.9122*pareto(0.235,10)+0.0878*exp(1.66)   a mixture (weights are normalised)
 *   1.5x(exp(1))                    the inner model's samples times 1.5
 */
import type { Random } from '../../src/core/env.js';

export type LatencyModel =
  | { readonly kind: 'constant'; readonly ms: number }
  | { readonly kind: 'exponential'; readonly rate: number }
  | { readonly kind: 'pareto'; readonly xm: number; readonly alpha: number }
  | { readonly kind: 'mixture'; readonly parts: ReadonlyArray<{ readonly weight: number; readonly model: LatencyModel }> }
  | { readonly kind: 'scaled'; readonly factor: number; readonly model: LatencyModel };

export const constant = (ms: number): LatencyModel => ({ kind: 'constant', ms });
export const exponential = (rate: number): LatencyModel => ({ kind: 'exponential', rate });
export const pareto = (xm: number, alpha: number): LatencyModel => ({ kind: 'pareto', xm, alpha });
export const mixture = (...parts: Array<[weight: number, model: LatencyModel]>): LatencyModel =>
  ({ kind: 'mixture', parts: parts.map(([weight, model]) => ({ weight, model })) });
export const scaled = (factor: number, model: LatencyModel): LatencyModel => ({ kind: 'scaled', factor, model });

/** One sample, ms (never negative). */
export function sampleLatency(model: LatencyModel, random: Random): number {
  switch (model.kind) {
    case 'constant':
      return model.ms;
    case 'exponential':
      return -Math.log(1 - random.next()) / model.rate;
    case 'pareto':
      // Inverse CDF: xm / U^(1/α), U uniform in (0, 1].
      return model.xm / Math.pow(1 - random.next(), 1 / model.alpha);
    case 'scaled':
      return model.factor * sampleLatency(model.model, random);
    case 'mixture': {
      const total = model.parts.reduce((sum, p) => sum + p.weight, 0);
      let u = random.next() * total;
      for (const part of model.parts) {
        u -= part.weight;
        if (u < 0) return sampleLatency(part.model, random);
      }
      const last = model.parts[model.parts.length - 1];
      if (last === undefined) throw new Error('a latency mixture needs at least one part');
      return sampleLatency(last.model, random);
    }
  }
}

/** The distribution's mean, ms (Infinity for a Pareto with α ≤ 1). */
export function meanLatency(model: LatencyModel): number {
  switch (model.kind) {
    case 'constant':
      return model.ms;
    case 'exponential':
      return 1 / model.rate;
    case 'pareto':
      return model.alpha <= 1 ? Infinity : (model.alpha * model.xm) / (model.alpha - 1);
    case 'scaled':
      return model.factor * meanLatency(model.model);
    case 'mixture': {
      const total = model.parts.reduce((sum, p) => sum + p.weight, 0);
      return model.parts.reduce((sum, p) => sum + (p.weight / total) * meanLatency(p.model), 0);
    }
  }
}

function num(n: number): string {
  return String(Number(n.toPrecision(6)));
}

/** The model as text that parseLatency reads back. */
export function describeLatency(model: LatencyModel): string {
  switch (model.kind) {
    case 'constant':
      return `const(${num(model.ms)})`;
    case 'exponential':
      return `exp(${num(model.rate)})`;
    case 'pareto':
      return `pareto(${num(model.xm)},${num(model.alpha)})`;
    case 'scaled':
      return `${num(model.factor)}x(${describeLatency(model.model)})`;
    case 'mixture':
      return model.parts.map((p) => `${num(p.weight)}*${describeLatency(p.model)}`).join('+');
  }
}

/** Parses the text form (see the file comment); throws with a message naming the problem. */
export function parseLatency(text: string): LatencyModel {
  const s = text.replace(/\s+/g, '');
  const parts = splitTopLevel(s, '+');
  if (parts.length > 1 || /^[\d.]+\*/.test(s)) {
    return {
      kind: 'mixture',
      parts: parts.map((part) => {
        const star = part.indexOf('*');
        if (star <= 0) throw new Error(`latency mixture part ${JSON.stringify(part)} needs the form weight*model`);
        const weight = positive(part.slice(0, star), 'mixture weight');
        return { weight, model: parseLatency(part.slice(star + 1)) };
      }),
    };
  }
  const scaledMatch = /^([\d.]+)x\((.*)\)$/.exec(s);
  if (scaledMatch) return scaled(positive(scaledMatch[1] ?? '', 'scale factor'), parseLatency(scaledMatch[2] ?? ''));
  const call = /^(const|exp|pareto)\(([^()]*)\)$/.exec(s);
  if (!call) throw new Error(`cannot read latency model ${JSON.stringify(text)}: use const(ms), exp(rate), pareto(xm,alpha) or w*model+w*model`);
  const args = (call[2] ?? '').split(',');
  switch (call[1]) {
    case 'const':
      if (args.length !== 1) throw new Error('const() takes one argument: the latency in ms');
      return constant(nonNegative(args[0] ?? '', 'constant latency'));
    case 'exp':
      if (args.length !== 1) throw new Error('exp() takes one argument: the rate λ per ms (mean 1/λ)');
      return exponential(positive(args[0] ?? '', 'exponential rate'));
    default:
      if (args.length !== 2) throw new Error('pareto() takes two arguments: xm (ms) and alpha');
      return pareto(positive(args[0] ?? '', 'pareto xm'), positive(args[1] ?? '', 'pareto alpha'));
  }
}

function splitTopLevel(s: string, separator: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === separator && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

function positive(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${what} must be a positive number, got ${JSON.stringify(text)}`);
  return n;
}

function nonNegative(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${what} must be a non-negative number, got ${JSON.stringify(text)}`);
  return n;
}

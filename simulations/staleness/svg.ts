/**
 * An SVG plot of staleness curves: probability of a consistent read against the time since the
 * write committed, t on a log scale (t = 0 drawn at the left edge), with the target probability
 * marked. Plain SVG text, no dependencies.
 */
import type { StalenessResult } from './pbs.js';

const WIDTH = 720;
const HEIGHT = 420;
const MARGIN = { left: 70, right: 20, top: 40, bottom: 50 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function stalenessSvg(results: readonly StalenessResult[], title: string): string {
  const all = results.flatMap((r) => r.points.filter((p) => Number.isFinite(p.probability)));
  const positive = all.map((p) => p.tMs).filter((t) => t > 0);
  const tMin = Math.min(...positive, 0.1);
  const tMax = Math.max(...positive, 1);
  const logMin = Math.log10(tMin) - 0.3;
  const logMax = Math.log10(tMax);
  const pMin = Math.max(0, Math.floor(Math.min(...all.map((p) => p.probability), 0.99) * 20) / 20);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (t: number): number => MARGIN.left + (t <= 0 ? 0 : ((Math.log10(t) - logMin) / (logMax - logMin)) * plotW);
  const y = (p: number): number => MARGIN.top + (1 - (p - pMin) / (1 - pMin)) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="14">${escape(title)}</text>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top + plotH}" x2="${MARGIN.left + plotW}" y2="${MARGIN.top + plotH}" stroke="black"/>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${MARGIN.top + plotH}" stroke="black"/>`,
  ];
  for (let e = Math.ceil(logMin); e <= Math.floor(logMax); e++) {
    const t = 10 ** e;
    out.push(`<line x1="${x(t)}" y1="${MARGIN.top}" x2="${x(t)}" y2="${MARGIN.top + plotH}" stroke="#ddd"/>`);
    out.push(`<text x="${x(t)}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${t >= 1 ? t : t.toFixed(Math.max(0, -e))}</text>`);
  }
  out.push(`<text x="${MARGIN.left}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">0</text>`);
  out.push(`<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 10}" text-anchor="middle">t: ms after the write committed (log scale)</text>`);
  for (let k = 0; k <= 4; k++) {
    const p = pMin + ((1 - pMin) * k) / 4;
    out.push(`<line x1="${MARGIN.left}" y1="${y(p)}" x2="${MARGIN.left + plotW}" y2="${y(p)}" stroke="#eee"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${y(p) + 4}" text-anchor="end">${(p * 100).toFixed(1)}%</text>`);
  }
  out.push(`<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">P(read returns the write)</text>`);
  const target = results[0]?.targetProbability ?? 0.999;
  if (target >= pMin) {
    out.push(`<line x1="${MARGIN.left}" y1="${y(target)}" x2="${MARGIN.left + plotW}" y2="${y(target)}" stroke="#888" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${MARGIN.left + plotW - 4}" y="${y(target) - 4}" text-anchor="end" fill="#555">${(target * 100).toFixed(1)}%</text>`);
  }
  results.forEach((result, i) => {
    const color = COLORS[i % COLORS.length] as string;
    const pts = result.points.filter((p) => Number.isFinite(p.probability));
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${x(p.tMs).toFixed(1)},${y(Math.max(pMin, p.probability)).toFixed(1)}`).join(' ')}"/>`);
    const label = `${result.model} N=${result.n} R=${result.r} W=${result.w}` +
      (result.tAtTargetMs === undefined ? '' : `: ${(target * 100).toFixed(1)}% at t=${result.tAtTargetMs.toPrecision(3)} ms`);
    out.push(`<text x="${MARGIN.left + 10}" y="${MARGIN.top + 16 + 16 * i}" fill="${color}">${escape(label)}</text>`);
    if (result.tAtTargetMs !== undefined) {
      out.push(`<circle cx="${x(result.tAtTargetMs)}" cy="${y(target)}" r="4" fill="${color}"/>`);
    }
  });
  out.push('</svg>');
  return out.join('\n');
}

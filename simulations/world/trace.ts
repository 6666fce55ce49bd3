/**
 * The event trace of a run, reduced to a hash: two runs with the same seed and parameters must
 * fire the same events at the same virtual times, so their trace hashes are equal. Optionally
 * keeps the first lines of the trace for debugging (`--trace`).
 */
import type { EventObserver } from './scheduler.js';

export interface TraceOptions {
  /** Trace lines kept in memory for printing, lines. Default 0 (hash only): a long run fires millions of events. */
  readonly keepLines?: number | undefined;
}

/** Two independent 32-bit FNV-1a hashes over "time owner label" of every event: a 64-bit trace hash. */
export class TraceHasher implements EventObserver {
  private h1 = 0x811c9dc5;
  private h2 = 0x01000193 ^ 0x5bd1e995;
  events = 0;
  readonly lines: string[] = [];
  private readonly keepLines: number;

  constructor(options: TraceOptions = {}) {
    this.keepLines = options.keepLines ?? 0;
  }

  onEvent(atMs: number, owner: string, label: string, detail: number): void {
    this.events++;
    this.mixNumber(atMs);
    this.mixString(owner);
    this.mixString(label);
    this.mixInt(detail);
    if (this.lines.length < this.keepLines) this.lines.push(`${atMs.toFixed(3)} ${owner} ${label}${detail === 0 ? '' : ` ${detail.toString(16)}`}`);
  }

  /** Mixes an extra observation (e.g. a client operation's outcome) into the hash. */
  note(text: string): void {
    this.mixString(text);
  }

  /** The hash as 16 hex digits. */
  digest(): string {
    return (this.h1 >>> 0).toString(16).padStart(8, '0') + (this.h2 >>> 0).toString(16).padStart(8, '0');
  }

  private mixNumber(value: number): void {
    // Virtual times are sums of float latencies: hash them at microsecond resolution.
    const micros = Math.round(value * 1000);
    this.mixInt(micros % 0x1_0000_0000);
    this.mixInt(Math.floor(micros / 0x1_0000_0000));
  }

  private mixInt(v: number): void {
    for (let k = 0; k < 4; k++) {
      const byte = (v >>> (8 * k)) & 0xff;
      this.h1 = Math.imul(this.h1 ^ byte, 0x01000193);
      this.h2 = Math.imul(this.h2 ^ byte, 0x5bd1e995) ^ (this.h2 >>> 15);
    }
  }

  private mixString(s: string): void {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      this.h1 = Math.imul(this.h1 ^ c, 0x01000193);
      this.h2 = Math.imul(this.h2 ^ c, 0x5bd1e995) ^ (this.h2 >>> 15);
    }
    this.h1 = Math.imul(this.h1 ^ 0xff, 0x01000193);
  }
}

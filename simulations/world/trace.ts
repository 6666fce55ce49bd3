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
    // Mixed in order: the time as two little-endian 32-bit words (low, high), the owner's and the
    // label's characters each followed by a 0xff separator (into h1 only, as mixString does), the
    // detail as one word. The two hashes stay in locals: this runs for every event, and a field
    // write per byte cost more than the mixing.
    let h1 = this.h1;
    let h2 = this.h2;
    // Virtual times are sums of float latencies: hash them at microsecond resolution.
    const micros = Math.round(atMs * 1000);
    let v = micros % 0x1_0000_0000;
    for (let k = 0; k < 32; k += 8) {
      const byte = (v >>> k) & 0xff;
      h1 = Math.imul(h1 ^ byte, 0x01000193);
      h2 = Math.imul(h2 ^ byte, 0x5bd1e995) ^ (h2 >>> 15);
    }
    v = Math.floor(micros / 0x1_0000_0000);
    for (let k = 0; k < 32; k += 8) {
      const byte = (v >>> k) & 0xff;
      h1 = Math.imul(h1 ^ byte, 0x01000193);
      h2 = Math.imul(h2 ^ byte, 0x5bd1e995) ^ (h2 >>> 15);
    }
    for (let i = 0; i < owner.length; i++) {
      const c = owner.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15);
    }
    h1 = Math.imul(h1 ^ 0xff, 0x01000193);
    for (let i = 0; i < label.length; i++) {
      const c = label.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15);
    }
    h1 = Math.imul(h1 ^ 0xff, 0x01000193);
    for (let k = 0; k < 32; k += 8) {
      const byte = (detail >>> k) & 0xff;
      h1 = Math.imul(h1 ^ byte, 0x01000193);
      h2 = Math.imul(h2 ^ byte, 0x5bd1e995) ^ (h2 >>> 15);
    }
    this.h1 = h1;
    this.h2 = h2;
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

  private mixString(s: string): void {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      this.h1 = Math.imul(this.h1 ^ c, 0x01000193);
      this.h2 = Math.imul(this.h2 ^ c, 0x5bd1e995) ^ (this.h2 >>> 15);
    }
    this.h1 = Math.imul(this.h1 ^ 0xff, 0x01000193);
  }
}

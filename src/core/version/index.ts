/**
 * Versions of stored values (DESIGN.md §4): vector clocks, siblings with dots, reconcile, and
 * their binary and context encodings. Clock functions have short generic names (`get`, `merge`),
 * so they are exported under the `vclock` namespace; everything else is exported by name.
 */
export * as vclock from './vclock.js';
export type { ClockOrder, Dot, VClock, VClockEntry, VClockPruneOptions } from './vclock.js';
export * from './object.js';
export * from './codec.js';
export * from './encoded.js';

/**
 * Assertions document invariants (TigerBeetle style): one condition per call. A failed assertion
 * is a programmer error and throws loudly; it is never used for operating errors such as a down
 * peer or an oversized key, which have typed errors in src/errors.ts.
 */
export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new Error(`invariant violated: ${message}`);
}

export function unreachable(value: never, message = 'unreachable'): never {
  throw new Error(`invariant violated: ${message}: ${String(value)}`);
}

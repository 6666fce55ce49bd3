/**
 * The small client interface every workload is written against, so the same workload runs against
 * the simulated world (simulations/sim-client.ts) and against a real ring of processes
 * (simulations/chaos/http-client.ts).
 */
import type { Random } from '../../src/core/env.js';

/** A quorum read as a client sees it: every live sibling value, and the causal context. */
export interface ClientRead {
  /** Values of the live siblings (tombstones are not values); empty when the key does not exist. */
  readonly values: readonly Uint8Array[];
  /** Opaque context to pass to the next write of the key, so the write supersedes what was read. */
  readonly context: string;
}

/** An acknowledged write. */
export interface ClientWrite {
  /** The context the node returned after the write (what a client may pass to its next write). */
  readonly context: string;
}

export interface KvClient {
  /** Which node this client talks to (for reports). */
  readonly name: string;
  /** Reads `key`; `r` overrides the server's read quorum. Rejects on any failure. */
  get(key: string, options?: { readonly r?: number | undefined }): Promise<ClientRead>;
  /**
   * Writes `value`; with `context` (from a read) it supersedes what that read saw, without it it is
   * a blind write that becomes a sibling of whatever exists. Resolves only when acknowledged by W.
   */
  put(key: string, value: Uint8Array, options?: { readonly context?: string | undefined; readonly w?: number | undefined }): Promise<ClientWrite>;
  /** Deletes `key`: a tombstone that supersedes what the context covers. Resolves only when acknowledged by W. */
  delete(key: string, options?: { readonly context?: string | undefined; readonly w?: number | undefined }): Promise<ClientWrite>;
}

/** Time and randomness for a workload: virtual in the simulator, real against processes. */
export interface WorkloadRuntime {
  /** Current time, ms. */
  now(): number;
  /** Resolves after `ms`. */
  sleep(ms: number): Promise<void>;
}

/** How one operation ended: ok (acknowledged), fail (certainly not applied) or info (unknown: may have been applied). */
export type Outcome = 'ok' | 'fail' | 'info';

/** An operation in the history. */
export interface OpRecord {
  readonly client: number;
  readonly kind: 'read' | 'write' | 'delete';
  readonly key: string;
  readonly startMs: number;
  endMs: number;
  outcome: Outcome;
  /** Error code when not ok. */
  error?: string | undefined;
}

/** Classifies a rejected request: writes that failed may still have been applied somewhere. */
export function outcomeOf(kind: 'read' | 'write' | 'delete', err: unknown): { outcome: Outcome; error: string } {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : 'ERR_UNKNOWN';
  // A read has no effect, so any failed read simply failed. A write is only certainly not applied
  // when it was refused before anything was sent (invalid input, node unreachable).
  if (kind === 'read') return { outcome: 'fail', error: code };
  const definite = code === 'ERR_NOT_CONNECTED' || code === 'ERR_INVALID_ARGUMENT' || code === 'ERR_INVALID_QUORUM';
  return { outcome: definite ? 'fail' : 'info', error: code };
}

/** Options every workload takes. */
export interface WorkloadOptions {
  /** Concurrent clients. Default 5 (one per node in a 5-node ring). */
  readonly clients?: number | undefined;
  /**
   * Target rate of operations of all clients together, ops per second. Default 100. Clients are
   * closed-loop: each waits an exponential think time (mean clients/rate) after each operation, so
   * a slow cluster gets fewer operations, as with real clients.
   */
  readonly opsPerSecond?: number | undefined;
  /** Read quorum passed with every read; undefined = the server's default. */
  readonly r?: number | undefined;
  /** Write quorum passed with every write; undefined = the server's default. */
  readonly w?: number | undefined;
}

/** The per-key state the checker reads after quiescence. */
export interface FinalRead {
  readonly key: string;
  /** Values of the live siblings, or undefined when the final read failed. */
  readonly values: readonly Uint8Array[] | undefined;
  readonly error?: string | undefined;
}

/** What a workload's checker found. */
export interface WorkloadCheck {
  /** The guarantee checked, in one sentence. */
  readonly guarantee: string;
  /** Violations, one line each; empty when the guarantee held. */
  readonly violations: string[];
  /** Facts for the report (acknowledged, lost, …). */
  readonly facts: Record<string, number>;
}

export interface Workload {
  readonly name: string;
  /** Runs client `index` until `stopped()` is true; never rejects. */
  runClient(index: number, client: KvClient, runtime: WorkloadRuntime, random: Random, stopped: () => boolean): Promise<void>;
  /** Every key the workload touched (the checker reads each at R=N). */
  keys(): string[];
  /** Checks the final state; `durabilityExpected` false turns lost acknowledged writes into facts instead of violations. */
  check(finals: ReadonlyMap<string, FinalRead>, durabilityExpected: boolean): WorkloadCheck;
  /** The operation history. */
  readonly history: readonly OpRecord[];
}

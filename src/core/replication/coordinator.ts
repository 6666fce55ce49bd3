/**
 * Quorum coordination of get, put and delete (DESIGN.md §5), as in Riak's get/put FSMs:
 *
 *   get:  ask every entry of the key's preference list → answer once R replied (siblings
 *         reconciled) → keep collecting until all replied or timed out → read repair of every
 *         replica that answered stale or missing.
 *   put:  not in the preference list → forward to a node that is; else apply the write to the
 *         local replica (minting the new dot) → send the object to the other entries → answer
 *         once W acknowledged (this node counts) → after all answered, schedule a tombstone reap
 *         if this was a delete that every primary holds.
 *
 * A request fails with ERR_QUORUM_UNAVAILABLE when every replica answered or was unreachable and
 * fewer than R/W succeeded, and with ERR_TIMEOUT when the time ran out first.
 */
import { assert } from '../assert.js';
import type { Env } from '../env.js';
import { MessageType, type Envelope, type NodeId } from '../wire.js';
import {
  InvalidKeyError, InvalidQuorumError, KeyTooLargeError, QuorumUnavailableError, RingkvError, TimeoutError,
  ValueTooLargeError, errorFromWire, InvalidArgumentError,
} from '../../errors.js';
import type { ClusterView, PreferenceEntry } from './cluster-view.js';
import type { ResolvedReplicationOptions } from './options.js';
import type { PeerRequests } from './requests.js';
import { bytesEqual, type ReplicaStore, type StoredObject, type WriteIntent } from './replica-store.js';
import type { ReplicationStats } from './stats.js';
import {
  decodeContext, decodeObject, encodeContext, encodeObject, equalObjects, isTombstoneOnly, liveSiblingCount, reconcile,
  clockCovers, emptyClock, mergeClocks, type Dot, type KvObject, type VClock,
} from './version-adapter.js';
import {
  isForwardReplyBody, isReplicaGetReplyBody, isReplicaPutReplyBody,
  type ForwardBody, type ReapBody, type ReplicaGetBody, type ReplicaPutBody,
} from './messages.js';
import { encodeContextFromObjectBytes } from '../version/encoded.js';

export interface GetOptions {
  readonly r?: number | undefined;
  readonly timeoutMs?: number | undefined;
}

export interface WriteOptions {
  readonly w?: number | undefined;
  readonly timeoutMs?: number | undefined;
  /** Opaque context from an earlier read. */
  readonly context?: string | undefined;
  /** "local" supersedes what the coordinating replica has seen (Redis SET semantics). Default "given". */
  readonly contextMode?: 'given' | 'local' | undefined;
  /** Time to live, ms (puts only). */
  readonly ttlMs?: number | undefined;
}

/** What a quorum read found: the reconciled object (undefined when no replica holds the key). */
export interface ReadResult {
  readonly obj: KvObject | undefined;
  /** Opaque causal context for the next write of this key. */
  readonly context: string;
}

interface ReplicaAnswer {
  readonly entry: PreferenceEntry;
  readonly obj: KvObject | undefined;
}

const textEncoder = new TextEncoder();

export class Coordinator {
  private pendingReaps = 0;

  constructor(
    private readonly env: Env,
    private readonly cluster: ClusterView,
    private readonly store: ReplicaStore,
    private readonly requests: PeerRequests,
    private readonly options: ResolvedReplicationOptions,
    private readonly stats: ReplicationStats,
  ) {}

  // ---------------------------------------------------------------- validation

  private checkKey(key: string): void {
    if (typeof key !== 'string' || key.length === 0) throw new InvalidKeyError('key must be a non-empty string');
    if (key.charCodeAt(0) === 0) throw new InvalidKeyError('keys must not start with a NUL character (reserved for internal data)');
    const bytes = key.length * 3 <= this.options.maxKeyBytes ? key.length : textEncoder.encode(key).byteLength;
    if (bytes > this.options.maxKeyBytes) throw new KeyTooLargeError(bytes, this.options.maxKeyBytes);
  }

  private checkQuorum(name: 'R' | 'W', value: number | undefined, fallback: number): number {
    const q = value ?? fallback;
    const n = this.options.nVal;
    if (!Number.isInteger(q) || q < 1 || q > n) {
      throw new InvalidQuorumError(`${name}=${String(q)} is invalid: it must be a whole number from 1 to N=${n}`, { [name]: q, n });
    }
    return q;
  }

  private checkTimeout(timeoutMs: number | undefined): number {
    const t = timeoutMs ?? this.options.requestTimeoutMs;
    if (!Number.isFinite(t) || t <= 0 || t > this.options.maxRequestTimeoutMs) {
      throw new InvalidArgumentError(`timeout must be between 1 and ${this.options.maxRequestTimeoutMs} ms, got ${String(t)}`);
    }
    return t;
  }

  // ---------------------------------------------------------------- get

  /** Quorum read. */
  get(key: string, options: GetOptions = {}): Promise<ReadResult> {
    this.checkKey(key);
    const r = this.checkQuorum('R', options.r, this.options.r);
    const timeoutMs = this.checkTimeout(options.timeoutMs);
    this.stats.gets++;
    const n = this.options.nVal;
    const apl = this.cluster.preferenceList(key, n);
    const startedAtMs = this.env.clock.now();

    return new Promise<ReadResult>((resolve, reject) => {
      const answers: ReplicaAnswer[] = [];
      // Replicas that agree send the same bytes: each distinct encoding is decoded once, and equal
      // answers share one (immutable) object, which reconcile and read repair then see as equal
      // at once. At most N entries.
      const decoded: StoredObject[] = [];
      const decodeAnswer = (bytes: Uint8Array): KvObject => {
        for (const d of decoded) if (bytesEqual(d.bytes, bytes)) return d.obj;
        // Views into the reply frame, not copies: the answer is reconciled, returned and dropped.
        const obj = decodeObject(bytes, { copyValues: false });
        decoded.push({ obj, bytes });
        return obj;
      };
      let done = 0;
      let timedOut = false;
      let settled = false;

      const finish = (): void => {
        if (!settled) {
          settled = true;
          if (timedOut) {
            this.stats.timeouts++;
            reject(new TimeoutError('get', timeoutMs, { answered: answers.length, required: r }));
          } else {
            this.stats.quorumFailures++;
            reject(new QuorumUnavailableError('get', answers.length, n, r, 'R'));
          }
        }
        this.readRepair(key, answers, startedAtMs);
        this.reapAfterRead(key, answers, apl);
      };

      const onAnswer = (entry: PreferenceEntry, outcome: 'ok' | 'failed' | 'timeout', obj?: KvObject): void => {
        done++;
        if (outcome === 'ok') answers.push({ entry, obj });
        if (outcome === 'timeout') timedOut = true;
        if (!settled && answers.length >= r) {
          settled = true;
          const obj = reconcileAnswers(answers);
          // Replicas that agree gave one decoded object: its context is a copy of its clock's bytes.
          let bytes: Uint8Array | undefined;
          for (const d of decoded) if (d.obj === obj) bytes = d.bytes;
          resolve(new LazyReadResult(obj, bytes));
        }
        if (done === apl.length) finish();
      };

      if (apl.length === 0) {
        finish();
        return;
      }
      for (const entry of apl) {
        const hintFor = entry.role === 'fallback' ? entry.standsFor : undefined;
        if (entry.node === this.cluster.localId) {
          this.store.readStored(key, hintFor).then(
            (stored) => {
              if (stored !== undefined) decoded.push(stored);
              onAnswer(entry, 'ok', stored?.obj);
            },
            (err: unknown) => {
              this.env.logger.error({ err, key }, 'local replica read failed');
              onAnswer(entry, 'failed');
            },
          );
          continue;
        }
        const address = this.cluster.addressOf(entry.node);
        if (address === undefined) {
          onAnswer(entry, 'failed');
          continue;
        }
        const body: ReplicaGetBody = { key, hintFor };
        this.requests.request(address, MessageType.ReplicaGet, body, MessageType.ReplicaGetReply, timeoutMs, (reply) => {
          if (reply === undefined) return onAnswer(entry, 'timeout');
          if (!isReplicaGetReplyBody(reply.body) || reply.body.error) return onAnswer(entry, 'failed');
          let obj: KvObject | undefined;
          try {
            obj = reply.body.obj ? decodeAnswer(reply.body.obj) : undefined;
          } catch (err) {
            this.env.logger.warn({ err, key, peer: entry.node }, 'replica returned an undecodable object');
            return onAnswer(entry, 'failed');
          }
          onAnswer(entry, 'ok', obj);
        });
      }
    });
  }

  /**
   * Sends the reconciled object to every replica that answered with less — unless the read has run
   * for half the reap delay or more. Answers that old may predate a delete whose tombstone every
   * primary then acknowledged and reaped (deleteReapDelayMs after the acks); repairing with them
   * would store the deleted values again where the tombstone is gone (found by the simulator: a
   * reply lost to packet loss kept a read open until its 5 s timeout, seed 887, packet-loss). A
   * read younger than half the delay leaves its repair the other half to arrive before any such
   * reap; a later read repairs what this one skipped.
   */
  private readRepair(key: string, answers: readonly ReplicaAnswer[], startedAtMs: number): void {
    // One answer has nothing to be compared with (N=1, or every other replica failed).
    if (!this.options.readRepair || answers.length < 2) return;
    if (this.env.clock.now() - startedAtMs >= this.options.deleteReapDelayMs / 2) {
      this.env.logger.debug({ key, ageMs: this.env.clock.now() - startedAtMs }, 'skipping read repair: the answers are too old to be safe against reaped tombstones');
      return;
    }
    const merged = reconcileAnswers(answers);
    if (merged === undefined) return;
    let bytes: Uint8Array | undefined;
    for (const answer of answers) {
      if (answer.obj !== undefined && equalObjects(answer.obj, merged)) continue;
      const hintFor = answer.entry.role === 'fallback' ? answer.entry.standsFor : undefined;
      this.stats.readRepairs++;
      if (answer.entry.node === this.cluster.localId) {
        this.store.merge(key, merged, hintFor).catch((err: unknown) => this.env.logger.warn({ err, key }, 'local read repair failed'));
        continue;
      }
      const address = this.cluster.addressOf(answer.entry.node);
      if (address === undefined) continue;
      bytes ??= encodeObject(merged);
      const body: ReplicaPutBody = { key, obj: bytes, hintFor, reason: 'repair' };
      this.requests.send(address, MessageType.ReplicaPut, 0, body);
    }
  }

  /**
   * Like Riak's get FSM finalising a delete: when every primary answered and none holds anything
   * but the tombstone, schedule the tombstone's reap. Without it, a read that races a reap repairs
   * the tombstone back onto the replicas that had just dropped it, nothing ever reaps it again, and
   * the replicas stay split between a tombstone and nothing (found by the simulator: seed 88,
   * packet-reorder, mixed workload with deletes).
   */
  private reapAfterRead(key: string, answers: readonly ReplicaAnswer[], apl: readonly PreferenceEntry[]): void {
    if (apl.length !== this.options.nVal || answers.length !== apl.length || !apl.every((e) => e.role === 'primary')) return;
    let found = false;
    for (const a of answers) {
      if (a.obj === undefined) continue;
      if (!isTombstoneOnly(a.obj)) return;
      found = true;
    }
    if (!found) return;
    this.maybeScheduleReap(key, reconcileAnswers(answers)!, answers.map((a) => a.entry));
  }

  // ---------------------------------------------------------------- put / delete

  /** Quorum write of a value (or, with `value` null, a tombstone). */
  async write(key: string, value: Uint8Array | null, options: WriteOptions = {}, forwarded = false): Promise<{ context: string }> {
    this.checkKey(key);
    if (value !== null) {
      if (!(value instanceof Uint8Array)) throw new InvalidArgumentError('value must be bytes (Uint8Array)');
      if (value.byteLength > this.options.maxValueBytes) throw new ValueTooLargeError(value.byteLength, this.options.maxValueBytes);
    }
    const w = this.checkQuorum('W', options.w, this.options.w);
    const timeoutMs = this.checkTimeout(options.timeoutMs);
    const context = options.context === undefined || options.context === '' ? undefined : decodeContext(options.context);
    if (options.ttlMs !== undefined && (!Number.isSafeInteger(options.ttlMs) || options.ttlMs <= 0)) {
      throw new InvalidArgumentError(`ttl must be a positive whole number of ms, got ${String(options.ttlMs)}`);
    }
    if (value === null) this.stats.deletes++;
    else this.stats.puts++;

    const n = this.options.nVal;
    const apl = this.cluster.preferenceList(key, n);
    const self = apl.find((e) => e.node === this.cluster.localId);
    if (apl.length === 0) {
      this.stats.quorumFailures++;
      throw new QuorumUnavailableError(value === null ? 'delete' : 'put', 0, n, w, 'W');
    }
    if (self === undefined && !forwarded && this.options.forwardWrites) return this.forward(key, value, options, w, timeoutMs, apl);

    const intent: WriteIntent = {
      value,
      context,
      contextMode: options.contextMode ?? 'given',
      ttlMs: options.ttlMs,
    };
    const { obj, dot, bytes } = self === undefined
      ? this.store.coordinateRemote(key, intent)
      : await this.store.coordinate(key, intent, self.role === 'fallback' ? self.standsFor : undefined);
    if (apl.some((e) => e.role === 'fallback')) this.stats.sloppyQuorumWrites++;
    if (liveSiblingCount(obj) > 1) this.stats.siblingsCreated++;
    if (obj.siblings.length > this.options.siblingsWarnThreshold) {
      this.env.logger.warn({ key, siblings: obj.siblings.length }, 'object has many siblings; read it and write back a resolved value');
    }
    // A "local" write supersedes everything this replica has seen, so its reply may cover it all.
    const result = new LazyContext(intent.contextMode === 'local' ? obj.clock : writeReplyClock(obj, context, dot));
    return this.replicate(key, obj, bytes, result, apl, self, w, timeoutMs, value === null);
  }

  private replicate(
    key: string, obj: KvObject, encoded: Uint8Array | undefined, result: LazyContext, apl: readonly PreferenceEntry[], self: PreferenceEntry | undefined,
    w: number, timeoutMs: number, isDelete: boolean,
  ): Promise<{ context: string }> {
    const n = this.options.nVal;
    const op = isDelete ? 'delete' : 'put';
    const acked: PreferenceEntry[] = self === undefined ? [] : [self];
    const others = apl.filter((e) => e !== self);
    const bytes = others.length > 0 ? (encoded ?? encodeObject(obj)) : undefined;

    return new Promise((resolve, reject) => {
      let done = 0;
      let timedOut = false;
      let settled = false;
      const check = (): void => {
        if (!settled && acked.length >= w) {
          settled = true;
          resolve(result);
        }
        if (done < others.length) return;
        if (!settled) {
          settled = true;
          if (timedOut) {
            this.stats.timeouts++;
            reject(new TimeoutError(op, timeoutMs, { acknowledged: acked.length, required: w }));
          } else {
            this.stats.quorumFailures++;
            reject(new QuorumUnavailableError(op, acked.length, n, w, 'W'));
          }
        }
        if (isDelete && isTombstoneOnly(obj)) this.maybeScheduleReap(key, obj, acked);
      };
      for (const entry of others) {
        const address = this.cluster.addressOf(entry.node);
        if (address === undefined || bytes === undefined) {
          done++;
          continue;
        }
        const hintFor = entry.role === 'fallback' ? entry.standsFor : undefined;
        const body: ReplicaPutBody = { key, obj: bytes, hintFor, reason: 'write' };
        this.requests.request(address, MessageType.ReplicaPut, body, MessageType.ReplicaPutReply, timeoutMs, (reply) => {
          done++;
          if (reply === undefined) timedOut = true;
          else if (isReplicaPutReplyBody(reply.body) && reply.body.ok) acked.push(entry);
          check();
        });
      }
      check();
    });
  }

  private async forward(
    key: string, value: Uint8Array | null, options: WriteOptions, w: number, timeoutMs: number, apl: readonly PreferenceEntry[],
  ): Promise<{ context: string }> {
    const target = apl.find((e) => e.role === 'primary') ?? apl[0];
    assert(target !== undefined, 'forwarding needs a non-empty preference list');
    const address = this.cluster.addressOf(target.node);
    const op = value === null ? 'delete' : 'put';
    if (address === undefined) throw new QuorumUnavailableError(op, 0, this.options.nVal, w, 'W');
    this.stats.forwards++;
    const body: ForwardBody = {
      op, key, value: value ?? undefined, context: options.context, contextMode: options.contextMode ?? 'given', w, timeoutMs, ttlMs: options.ttlMs,
    };
    // The target runs its own timeout; give its answer a moment to travel back before giving up.
    const reply = await this.requests.ask(address, MessageType.Forward, body, MessageType.ForwardReply, timeoutMs + Math.min(1000, timeoutMs));
    if (reply === undefined) {
      this.stats.timeouts++;
      throw new TimeoutError(op, timeoutMs, { forwardedTo: target.node });
    }
    if (!isForwardReplyBody(reply.body)) throw new RingkvError('ERR_INTERNAL', `malformed forward reply from ${target.node}`);
    if (!reply.body.ok) throw errorFromWire(reply.body.error);
    return { context: reply.body.context ?? '' };
  }

  // ---------------------------------------------------------------- reaping

  /**
   * Like Riak's delete_mode 3000: once every primary holds the tombstone, drop it after a delay,
   * so the key's storage is reclaimed. A primary only drops its copy if nothing newer arrived.
   */
  private maybeScheduleReap(key: string, tombstone: KvObject, acked: readonly PreferenceEntry[]): void {
    const n = this.options.nVal;
    const primaries = this.cluster.primaries(key, n);
    const ackedPrimaries = new Set(acked.filter((e) => e.role === 'primary').map((e) => e.node));
    if (primaries.length < n || !primaries.every((p) => ackedPrimaries.has(p))) return;
    if (this.pendingReaps >= this.options.maxPendingRequests) return; // tombstones simply stay; reads still see them as deletes
    this.pendingReaps++;
    this.env.timers.setTimer(this.options.deleteReapDelayMs, () => {
      this.pendingReaps--;
      this.confirmAndReap(key, tombstone, primaries).catch((err: unknown) => this.env.logger.warn({ err, key }, 'tombstone reap failed'));
    });
  }

  /**
   * Reaps only once every primary confirms, now, that it holds nothing but a tombstone (or nothing
   * at all). An acknowledgement is not durability under fsync=interval: a primary that crashed
   * before its sync tick comes back with the deleted values, and if the others had dropped their
   * tombstones meanwhile, reads would spread those values again (found by the simulator: seed 2397,
   * crash-restart, and seed 2271, restart-clock-step). As in Riak's get FSM, the reap follows a read
   * of every primary that found only the tombstone; otherwise the tombstone stays for a later read
   * to finalise.
   */
  private async confirmAndReap(key: string, tombstone: KvObject, primaries: readonly NodeId[]): Promise<void> {
    const answers = await Promise.all(primaries.map(async (node): Promise<{ ok: boolean; obj?: KvObject | undefined }> => {
      if (node === this.cluster.localId) return { ok: true, obj: await this.store.read(key) };
      const address = this.cluster.addressOf(node);
      if (address === undefined || !this.cluster.isUp(node)) return { ok: false };
      const body: ReplicaGetBody = { key };
      const reply = await this.requests.ask(address, MessageType.ReplicaGet, body, MessageType.ReplicaGetReply, this.options.requestTimeoutMs);
      if (reply === undefined || !isReplicaGetReplyBody(reply.body) || reply.body.error) return { ok: false };
      return { ok: true, obj: reply.body.obj ? decodeObject(reply.body.obj) : undefined };
    }));
    if (!answers.every((a) => a.ok && (a.obj === undefined || isTombstoneOnly(a.obj)))) return;
    this.reapOn(key, tombstone, primaries);
  }

  private reapOn(key: string, tombstone: KvObject, primaries: readonly NodeId[]): void {
    let bytes: Uint8Array | undefined;
    for (const node of primaries) {
      if (node === this.cluster.localId) {
        this.store.reap(key, tombstone).then(
          (reaped) => {
            if (reaped) this.stats.tombstonesReaped++;
          },
          (err: unknown) => this.env.logger.warn({ err, key }, 'tombstone reap failed'),
        );
        continue;
      }
      const address = this.cluster.addressOf(node);
      if (address === undefined) continue;
      bytes ??= encodeObject(tombstone);
      const body: ReapBody = { key, obj: bytes };
      this.requests.send(address, MessageType.Reap, 0, body);
    }
  }

  /** Replies to a forwarded request by coordinating it here. */
  async onForward(msg: Envelope, body: ForwardBody): Promise<{ context: string }> {
    assert(msg.t === MessageType.Forward, 'onForward needs a Forward message');
    return this.write(body.key, body.op === 'delete' ? null : (body.value ?? new Uint8Array(0)), {
      w: body.w, timeoutMs: body.timeoutMs, context: body.context, contextMode: body.contextMode, ttlMs: body.ttlMs,
    }, true);
  }
}

/** The answers' objects reconciled into one; undefined when no replica holds the key. */
function reconcileAnswers(answers: readonly ReplicaAnswer[]): KvObject | undefined {
  if (answers.length === 1) return answers[0]!.obj;
  const found: KvObject[] = [];
  for (const a of answers) if (a.obj !== undefined) found.push(a.obj);
  return found.length === 0 ? undefined : reconcile(found);
}

/**
 * A write's answer: an opaque context encoded only when someone asks. Redis SETs and GETs never
 * do, and the encoding was a few percent of a local request's CPU.
 */
class LazyContext {
  private encoded: string | undefined;

  /** @param objectBytes the encoding of an object whose clock is `clock`, when the caller holds it. */
  constructor(private readonly clock: VClock, private readonly objectBytes?: Uint8Array) {}

  get context(): string {
    if (this.encoded === undefined) {
      const fromBytes = this.objectBytes === undefined ? undefined : encodeContextFromObjectBytes(this.objectBytes);
      this.encoded = fromBytes ?? encodeContext(this.clock);
    }
    return this.encoded;
  }
}

/** A read's answer: the reconciled object, and its context encoded only when someone asks. */
class LazyReadResult extends LazyContext implements ReadResult {
  /** @param bytes `obj` encoded, when the coordinator holds its encoding (a replica's answer). */
  constructor(readonly obj: KvObject | undefined, bytes?: Uint8Array) {
    super(obj?.clock ?? emptyClock(), obj === undefined ? undefined : bytes);
  }
}

/**
 * The context a write hands back to its client: what the client had seen plus the write itself —
 * never a sibling the client did not see, or passing it to the next write (as the SDK documents)
 * would silently supersede a concurrent acknowledged write. A version vector cannot cover the dot
 * (a, n) without covering (a, m) for every m < n, so when a sibling the client did not see carries
 * such a lower dot of the same actor, the write is left out instead: a following write that passes
 * this context then keeps it as a sibling, which loses nothing.
 */
function writeReplyClock(obj: KvObject, seen: VClock | undefined, dot: Dot): VClock {
  const base = seen ?? emptyClock();
  const shadowsUnseen = obj.siblings.some((s) => s.dot[0] === dot[0] && s.dot[1] < dot[1] && !clockCovers(base, s.dot));
  if (shadowsUnseen) return base;
  const entry = obj.clock.find((e) => e[0] === dot[0]);
  return mergeClocks(base, [entry ?? [dot[0], dot[1], 0]]);
}

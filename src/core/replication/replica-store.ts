/**
 * The replica side of replication: this node's objects, as a primary (one object per key) and as
 * a fallback (hinted objects kept apart, per intended owner, until they are handed off).
 *
 * Storage layout inside the node's StorageEngine:
 *   `<key>`                          the object of a key this node holds as a primary
 *   `\0h\0<owner>\0<key>`            a hinted object held for `owner` while it was down
 * User keys can never start with `\0` (the coordinator refuses them), so the spaces never meet.
 *
 * Every read-modify-write of one stored object runs under a per-key lock, so a coordinator's
 * write and a replica merge of the same key never interleave.
 */
import { assert } from '../assert.js';
import type { Env } from '../env.js';
import type { NodeId } from '../wire.js';
import { NOT_IN_MEMORY, type StorageEngine, type StoredRecord } from '../../storage/types.js';
import { OverloadedError } from '../../errors.js';
import { KeyLock } from './key-lock.js';
import type { ReplicationStats } from './stats.js';
import {
  applyWrite, pruneObject, clockCounter, compareClocks, decideEncodedMerge, decodeObject, EncodedMerge, encodeObject, equalObjects,
  isTombstoneOnly, mergeClocks, mergeObjects, ObjectScan, sameSiblingsAs, type Dot, type KvObject, type VClock,
} from './version-adapter.js';

const HINT_PREFIX = '\u0000h\u0000';

/**
 * Scratch scans of the objects a replica write merges (encoded.ts): reused, because a scan and
 * the decision on it run synchronously, and one write's scans are not needed after its decision.
 */
const incomingScan = new ObjectScan();
const localScan = new ObjectScan();

export function hintStorageKey(owner: NodeId, key: string): string {
  return `${HINT_PREFIX}${owner}\u0000${key}`;
}

/** Splits a hint storage key into its owner and user key. */
export function parseHintStorageKey(storageKey: string): { owner: NodeId; key: string } | undefined {
  if (!storageKey.startsWith(HINT_PREFIX)) return undefined;
  const rest = storageKey.slice(HINT_PREFIX.length);
  const sep = rest.indexOf('\u0000');
  if (sep <= 0) return undefined;
  return { owner: rest.slice(0, sep), key: rest.slice(sep + 1) };
}

export interface ActorAllocatorOptions {
  /**
   * Actors whose highest minted counter this node remembers, actors. Default 100 000 (about 10 MB).
   * An actor is continued only while it is remembered; a forgotten one is replaced by a fresh
   * epoch, which is always safe and costs one more clock entry (which pruning removes later).
   */
  readonly maxTrackedActors?: number | undefined;
}

/**
 * Hands out the actor ids this node writes dots under. An actor is `<node>.<generation>.<epoch>`:
 * unique to this process run (generation) and to one key's lifetime on this node (epoch). A
 * coordinator may only continue an actor's counter when its own stored object has seen every dot
 * the actor made for the key; whenever it might have forgotten (no object: never written, reaped,
 * hint handed off; or written in an earlier run that a crash may have cut short) it takes a fresh
 * epoch. Reusing a forgotten counter would mint a dot equal to a live sibling elsewhere and
 * silently drop one of the two writes (Riak's kv679 bug).
 *
 * "The stored object shows the actor" is not enough: after a reap, a merge or a client's context
 * can bring an old, lower entry of the actor back into a fresh object (simulator, seed 37, pause
 * scenario). So the allocator remembers the highest counter it minted per actor, and continues an
 * actor only when the stored clock has reached it.
 */
export class ActorAllocator {
  private readonly prefix: string;
  private nextEpoch = 1;
  /** Highest counter minted per actor, in order of first mint (a bounded memory). */
  private readonly minted = new Map<string, number>();
  private readonly maxTrackedActors: number;

  constructor(readonly nodeId: NodeId, generation: number, options: ActorAllocatorOptions = {}) {
    assert(Number.isInteger(generation) && generation >= 0, 'generation must be a non-negative integer');
    this.prefix = `${nodeId}.${generation.toString(36)}.`;
    this.maxTrackedActors = options.maxTrackedActors ?? 100_000;
    assert(this.maxTrackedActors >= 1, 'maxTrackedActors is positive');
  }

  /** A never-used actor id. */
  fresh(): string {
    return `${this.prefix}${(this.nextEpoch++).toString(36)}`;
  }

  /** The actor of this run that `clock` shows, when there is one to continue: `clock` has seen every dot it minted. */
  reusable(clock: VClock): string | undefined {
    for (const [actor, counter] of clock) {
      if (!actor.startsWith(this.prefix)) continue;
      const minted = this.minted.get(actor);
      if (minted !== undefined && counter >= minted) return actor;
    }
    return undefined;
  }

  /**
   * Records that `actor` minted the dot with `counter`. The memory is first-in first-out (an
   * update keeps an actor's place): moving it to the back on every write cost a Map delete and
   * insert per write. Forgetting an actor early is safe; its key just takes a fresh epoch.
   */
  recordMint(actor: string, counter: number): void {
    const known = this.minted.size;
    this.minted.set(actor, counter);
    if (this.minted.size > known && this.minted.size > this.maxTrackedActors) {
      const oldest = this.minted.keys().next();
      if (oldest.done !== true) this.minted.delete(oldest.value);
    }
  }

  /** The node id an actor id belongs to. */
  static nodeOf(actor: string): NodeId {
    const first = actor.indexOf('.');
    return first === -1 ? actor : actor.slice(0, first);
  }
}

const DEFAULT_MAX_REAPED_CLOCKS = 10_000;
const DEFAULT_REAPED_CLOCK_RETENTION_MS = 3_600_000;

export interface ReplicaStoreOptions {
  readonly maxHints: number;
  readonly maxHintBytes: number;
  readonly maxSiblings: number;
  /** Reaped keys whose tombstone clock is remembered (see ReplicationOptions.maxReapedClocks). Default 10 000. */
  readonly maxReapedClocks?: number | undefined;
  /** How long a reaped key's tombstone clock is remembered, ms. Default one hour. */
  readonly reapedClockRetentionMs?: number | undefined;
}

/** A stored object and the bytes it was decoded from (views into them: see `loaded`). */
export interface StoredObject {
  readonly obj: KvObject;
  readonly bytes: Uint8Array;
}

/** The value a coordinated write puts, with what it saw. */
export interface WriteIntent {
  readonly value: Uint8Array | null;
  /** Clock the client read, or undefined for a blind write. */
  readonly context: VClock | undefined;
  /** "local": also supersede everything this replica has seen (Redis SET). */
  readonly contextMode: 'given' | 'local';
  /** Time to live from the write, ms; undefined = never expires. */
  readonly ttlMs?: number | undefined;
}

/** A coordinated write: the object to store and replicate, and the dot the write was given. */
export interface CoordinatedWrite {
  readonly obj: KvObject;
  readonly dot: Dot;
  /** `obj` encoded (what this replica stored), to send to the other replicas without encoding it again. */
  readonly bytes?: Uint8Array | undefined;
}

export class ReplicaStore {
  private readonly lock = new KeyLock();
  /**
   * The tombstone clock of each recently reaped key, oldest first. A stale copy of a reaped key
   * (a hint from a fallback that was down during the reap) carries only dots that clock covers,
   * so merging it against the clock drops it, as the tombstone would have. In memory and bounded:
   * a stale copy that arrives after the retention, the bound or a restart of this node can still
   * bring values back, as with Riak's delete_mode (README, "Versions and siblings").
   */
  private readonly reaped = new Map<string, { readonly clock: VClock; readonly atMs: number }>();
  /** Pending hints per owner; the total is mirrored in stats. */
  private readonly hintCounts = new Map<NodeId, number>();

  constructor(
    private readonly storage: StorageEngine,
    private readonly env: Env,
    private readonly actors: ActorAllocator,
    private readonly options: ReplicaStoreOptions,
    private readonly stats: ReplicationStats,
  ) {}

  /** Counts the hints left from an earlier run. */
  async init(): Promise<void> {
    let cursor: string | undefined;
    do {
      const page = await this.storage.scan({ prefix: HINT_PREFIX, cursor, limit: 1000 });
      for (const { key, record } of page.entries) {
        const parsed = parseHintStorageKey(key);
        if (parsed === undefined) continue;
        this.hintCounts.set(parsed.owner, (this.hintCounts.get(parsed.owner) ?? 0) + 1);
        this.stats.hintsPending++;
        this.stats.hintBytesPending += record.value.byteLength;
      }
      cursor = page.cursor;
    } while (cursor !== undefined);
  }

  private storageKey(key: string, hintFor: NodeId | undefined): string {
    return hintFor === undefined ? key : hintStorageKey(hintFor, key);
  }

  /** The stored record of `storageKey` when the storage can tell without I/O (see StorageEngine.peek). */
  private peek(storageKey: string): StoredRecord | undefined | typeof NOT_IN_MEMORY {
    return this.storage.peek === undefined ? NOT_IN_MEMORY : this.storage.peek(storageKey);
  }

  /** The stored object of `storageKey`, without a promise when the storage has it in memory. */
  private loadNow(storageKey: string): StoredObject | undefined | typeof NOT_IN_MEMORY {
    const record = this.peek(storageKey);
    return record === NOT_IN_MEMORY ? NOT_IN_MEMORY : loaded(record);
  }

  private async load(storageKey: string): Promise<StoredObject | undefined> {
    const now = this.loadNow(storageKey);
    return now !== NOT_IN_MEMORY ? now : loaded(await this.storage.get(storageKey));
  }

  /** This replica's object of `key` (its hinted copy for `hintFor`), or undefined. */
  read(key: string, hintFor?: NodeId): Promise<KvObject | undefined> {
    return this.readStored(key, hintFor).then((found) => found?.obj);
  }

  /** `read`, with the stored bytes the object was decoded from. */
  readStored(key: string, hintFor?: NodeId): Promise<StoredObject | undefined> {
    const storageKey = this.storageKey(key, hintFor);
    return inMemoryOr(() => this.loadNow(storageKey), () => this.load(storageKey));
  }

  /**
   * This replica's object of `key` as stored (encoded), or undefined: what a replica read sends,
   * without decoding and encoding it again.
   */
  readEncoded(key: string, hintFor?: NodeId): Promise<Uint8Array | undefined> {
    const storageKey = this.storageKey(key, hintFor);
    return inMemoryOr(() => {
      const record = this.peek(storageKey);
      return record === NOT_IN_MEMORY ? NOT_IN_MEMORY : record?.value;
    }, () => this.storage.get(storageKey).then((record) => record?.value));
  }

  /**
   * Merges `incoming` into the stored object; returns the result. `incomingBytes`, when given, is
   * `incoming` as received: stored as they are when the merge took everything from `incoming` (the
   * usual replica write), which saves encoding the object again.
   */
  async merge(key: string, incoming: KvObject, hintFor?: NodeId, incomingBytes?: Uint8Array): Promise<KvObject> {
    const storageKey = this.storageKey(key, hintFor);
    return this.modify(storageKey, (local) => this.mergeInto(storageKey, local, incoming, hintFor, incomingBytes));
  }

  /**
   * `merge` for an object received encoded (a replica write): the same stored result, decided on
   * the encoded bytes of both sides when the merge keeps the stored object or takes the incoming
   * one (the usual cases), without decoding either. Returns undefined, having done nothing, when
   * `incomingBytes` is not an object in canonical form: the caller then decodes it (which reports
   * what is wrong with it) and calls `merge`. The promise's value means nothing.
   */
  mergeEncoded(key: string, incomingBytes: Uint8Array, hintFor?: NodeId): Promise<unknown> | undefined {
    if (!incomingScan.scan(incomingBytes)) return undefined;
    return this.mergeScanned(this.storageKey(key, hintFor), incomingBytes, hintFor);
  }

  // Async, and through modifyRecord, so that every path settles after the same steps as `merge`
  // (the simulator replays the order of settlements exactly).
  private async mergeScanned(storageKey: string, incomingBytes: Uint8Array, hintFor: NodeId | undefined): Promise<unknown> {
    return this.modifyRecord(storageKey, (record) => this.mergeEncodedInto(storageKey, record, incomingBytes, hintFor));
  }

  /** Under the key's lock: the merge of `incomingBytes` into `record`, on the bytes when decided there, else as `mergeInto`. */
  private mergeEncodedInto(
    storageKey: string, record: StoredRecord | undefined, incomingBytes: Uint8Array, hintFor: NodeId | undefined,
  ): Promise<unknown> {
    // Another key's merge may have scanned into the scratch while this one waited for the lock.
    if (incomingScan.source !== incomingBytes) {
      const scanned = incomingScan.scan(incomingBytes);
      assert(scanned, 'received bytes scan as they did on arrival');
    }
    if (record === undefined) {
      // Nothing stored, so the merge is the incoming object, unless a reaped key's clock is the
      // base (mergeInto filters the incoming siblings against it).
      if (hintFor !== undefined || !this.reaped.has(storageKey)) {
        return this.storeIncoming(storageKey, undefined, incomingBytes, incomingScan.storageExpiryMs, hintFor);
      }
    } else if (localScan.scan(record.value)) {
      const decision = decideEncodedMerge(localScan, incomingScan);
      if (decision === EncodedMerge.KeepsLocal) return Promise.resolve(undefined);
      if (decision === EncodedMerge.TakesIncoming) {
        return this.storeIncoming(storageKey, record.value, incomingBytes, incomingScan.storageExpiryMs, hintFor);
      }
    }
    // The incoming bytes scanned, so they decode (the same reader's checks, and more).
    return this.mergeInto(storageKey, loaded(record), decodeObject(incomingBytes, { copyValues: false }), hintFor, incomingBytes);
  }

  /** mergeInto's store when the merge took everything from the incoming object (its bytes are the merged encoding). */
  private async storeIncoming(
    storageKey: string, previousBytes: Uint8Array | undefined, bytes: Uint8Array, expiresAtMs: number | undefined, hintFor: NodeId | undefined,
  ): Promise<undefined> {
    await this.store(storageKey, bytes, expiresAtMs, previousBytes, hintFor);
    if (previousBytes === undefined) this.reaped.delete(storageKey);
    return undefined;
  }

  /** `modify` on the stored record itself, for callers that decide without decoding it. */
  private modifyRecord<T>(storageKey: string, fn: (record: StoredRecord | undefined) => Promise<T>): Promise<T> {
    return this.lock.run(storageKey, () => {
      const record = this.peek(storageKey);
      return record === NOT_IN_MEMORY ? this.loadRecord(storageKey).then(fn) : fn(record);
    });
  }

  /** `load` without the decoding (the same steps, so both settle alike). */
  private async loadRecord(storageKey: string): Promise<StoredRecord | undefined> {
    const now = this.peek(storageKey);
    return now !== NOT_IN_MEMORY ? now : await this.storage.get(storageKey);
  }

  /**
   * Runs a read-modify-write of `storageKey` under its lock, on the stored object. The object is
   * loaded without a promise when the storage has it in memory (the usual case), so the
   * uncontended path adds no asynchronous step of its own before `fn`.
   */
  private modify<T>(storageKey: string, fn: (local: StoredObject | undefined) => Promise<T>): Promise<T> {
    return this.lock.run(storageKey, () => {
      const local = this.loadNow(storageKey);
      return local === NOT_IN_MEMORY ? this.load(storageKey).then(fn) : fn(local);
    });
  }

  private async mergeInto(
    storageKey: string, local: StoredObject | undefined, incoming: KvObject, hintFor: NodeId | undefined, incomingBytes: Uint8Array | undefined,
  ): Promise<KvObject> {
    const base = local?.obj ?? (hintFor === undefined ? this.reapedBase(storageKey) : undefined);
    const merged = base === undefined ? incoming : mergeObjects(base, incoming);
    if (base !== undefined && equalObjects(base, merged)) return merged;
    // A reaped key: keep what the tombstone did not supersede; nothing left, nothing to store.
    if (local === undefined && base !== undefined && merged.siblings.length === 0) return merged;
    const bytes = incomingBytes !== undefined && sameSiblingsAs(merged, incoming) ? incomingBytes : encodeObject(merged);
    await this.store(storageKey, bytes, storageExpiry(merged), local?.bytes, hintFor);
    if (local === undefined) this.reaped.delete(storageKey);
    return merged;
  }

  /** Coordinates a write on this replica: applies it to the stored object and stores the result. */
  async coordinate(key: string, intent: WriteIntent, hintFor?: NodeId): Promise<CoordinatedWrite> {
    const storageKey = this.storageKey(key, hintFor);
    return this.modify(storageKey, (local) => this.coordinateOn(key, storageKey, local, intent, hintFor));
  }

  private async coordinateOn(
    key: string, storageKey: string, local: StoredObject | undefined, intent: WriteIntent, hintFor: NodeId | undefined,
  ): Promise<CoordinatedWrite> {
    // A write to a reaped key starts from the tombstone's clock, so that a stale copy arriving
    // later is not concurrent with it.
    const current = local?.obj ?? (hintFor === undefined ? this.reapedBase(storageKey) : undefined);
    const written = this.applyIntent(key, current, intent, hintFor === undefined);
    const bytes = await this.store(storageKey, encodeObject(written.obj), storageExpiry(written.obj), local?.bytes, hintFor);
    if (local === undefined) this.reaped.delete(storageKey);
    return { obj: written.obj, dot: written.dot, bytes };
  }

  /** Applies a write where this node holds no replica (a forwarded request whose view differs). */
  coordinateRemote(key: string, intent: WriteIntent): CoordinatedWrite {
    return this.applyIntent(key, undefined, { ...intent, contextMode: 'given' }, false);
  }

  private applyIntent(key: string, local: KvObject | undefined, intent: WriteIntent, mayReuseActor: boolean): CoordinatedWrite {
    const actor = (mayReuseActor && local !== undefined ? this.actors.reusable(local.clock) : undefined) ?? this.actors.fresh();
    const context = intent.contextMode === 'local' && local !== undefined
      ? (intent.context === undefined ? local.clock : mergeClocks(local.clock, intent.context))
      : intent.context;
    const now = this.env.clock.now();
    const written = applyWrite(local, context, actor, intent.value, now, {
      maxSiblings: this.options.maxSiblings,
      ttlMs: intent.ttlMs,
      key,
    });
    // Riak's vclock bounds (50 entries, young 20 s, old 1 day) keep clocks from growing without
    // limit as nodes restart (each run writes under new actors); pruning keeps every entry a
    // sibling's dot needs and this actor's own.
    const dot: Dot = [actor, clockCounter(written.clock, actor)];
    if (mayReuseActor) this.actors.recordMint(actor, dot[1]);
    return { obj: pruneObject(written, now, { localNodeId: actor }), dot };
  }

  private rememberReaped(key: string, clock: VClock): void {
    const max = this.options.maxReapedClocks ?? DEFAULT_MAX_REAPED_CLOCKS;
    if (max === 0) return;
    this.reaped.delete(key);
    this.reaped.set(key, { clock, atMs: this.env.clock.now() });
    if (this.reaped.size > max) {
      const oldest = this.reaped.keys().next();
      if (oldest.done !== true) this.reaped.delete(oldest.value);
    }
    assert(this.reaped.size <= max, 'reaped clocks within their bound');
  }

  /** An object with no siblings and the reaped tombstone's clock, while it is remembered. */
  private reapedBase(key: string): KvObject | undefined {
    const entry = this.reaped.get(key);
    if (entry === undefined) return undefined;
    if (this.env.clock.now() - entry.atMs > (this.options.reapedClockRetentionMs ?? DEFAULT_REAPED_CLOCK_RETENTION_MS)) {
      this.reaped.delete(key);
      return undefined;
    }
    return { clock: entry.clock, siblings: [] };
  }

  /** Reaped keys whose tombstone clock is remembered now. */
  get reapedClocks(): number {
    return this.reaped.size;
  }

  /** Drops the stored tombstone of `key` if it is still exactly what `tombstone` covers. */
  async reap(key: string, tombstone: KvObject): Promise<boolean> {
    return this.lock.run(key, async () => {
      const local = await this.load(key);
      if (local === undefined) return false;
      if (!isTombstoneOnly(local.obj)) return false;
      const order = compareClocks(tombstone.clock, local.obj.clock);
      if (order !== 'equal' && order !== 'after') return false;
      await this.storage.delete(key);
      this.rememberReaped(key, local.obj.clock);
      return true;
    });
  }

  /** Deletes a delivered hint unless a newer hinted write changed it meanwhile. */
  async deleteHintIfUnchanged(owner: NodeId, key: string, deliveredBytes: Uint8Array): Promise<boolean> {
    const storageKey = hintStorageKey(owner, key);
    return this.lock.run(storageKey, async () => {
      const record = await this.storage.get(storageKey);
      if (record === undefined || !bytesEqual(record.value, deliveredBytes)) return false;
      await this.storage.delete(storageKey);
      this.forgetHint(owner, record.value.byteLength);
      return true;
    });
  }

  /** Owners this node holds hints for, with counts. */
  hintOwners(): ReadonlyMap<NodeId, number> {
    return this.hintCounts;
  }

  /** A page of hints held for `owner`. */
  async hintsFor(owner: NodeId, limit: number, cursor?: string): Promise<{ hints: Array<{ key: string; bytes: Uint8Array }>; cursor?: string | undefined }> {
    const page = await this.storage.scan({ prefix: `${HINT_PREFIX}${owner}\u0000`, limit, cursor });
    const hints: Array<{ key: string; bytes: Uint8Array }> = [];
    for (const { key, record } of page.entries) {
      const parsed = parseHintStorageKey(key);
      assert(parsed !== undefined && parsed.owner === owner, 'hint scan returned a key outside the owner prefix');
      hints.push({ key: parsed.key, bytes: record.value });
    }
    return { hints, cursor: page.cursor };
  }

  /** Every object this node holds as a primary (anti-entropy and status use it). */
  async *primaryEntries(): AsyncIterable<{ key: string; obj: KvObject }> {
    for await (const { key, record } of this.storage.entries()) {
      if (key.startsWith('\u0000')) continue;
      yield { key, obj: decodeObject(record.value) };
    }
  }

  /** Stores the encoded object `bytes`, which the storage may drop at `expiresAtMs` (see storageExpiry); returns them. */
  private async store(
    storageKey: string, bytes: Uint8Array, expiresAtMs: number | undefined, previousBytes: Uint8Array | undefined, hintFor: NodeId | undefined,
  ): Promise<Uint8Array> {
    if (hintFor !== undefined) {
      const previousSize = previousBytes?.byteLength ?? 0;
      if (previousBytes === undefined && this.stats.hintsPending + 1 > this.options.maxHints) {
        this.stats.hintsRefused++;
        throw new OverloadedError('hint store (count)', this.options.maxHints);
      }
      if (this.stats.hintBytesPending - previousSize + bytes.byteLength > this.options.maxHintBytes) {
        this.stats.hintsRefused++;
        throw new OverloadedError('hint store (bytes)', this.options.maxHintBytes);
      }
    }
    await this.storage.put(storageKey, bytes, { expiresAtMs });
    if (hintFor !== undefined) {
      if (previousBytes === undefined) {
        this.hintCounts.set(hintFor, (this.hintCounts.get(hintFor) ?? 0) + 1);
        this.stats.hintsPending++;
        this.stats.hintsStored++;
      }
      this.stats.hintBytesPending += bytes.byteLength - (previousBytes?.byteLength ?? 0);
    }
    return bytes;
  }

  private forgetHint(owner: NodeId, bytes: number): void {
    const count = this.hintCounts.get(owner) ?? 0;
    assert(count > 0, 'forgetting a hint that was never counted');
    if (count === 1) this.hintCounts.delete(owner);
    else this.hintCounts.set(owner, count - 1);
    this.stats.hintsPending--;
    this.stats.hintBytesPending -= bytes;
    assert(this.stats.hintsPending >= 0, 'negative pending hints');
  }
}

/** The storage engine may reclaim an object once every sibling has expired. */
function storageExpiry(obj: KvObject): number | undefined {
  let latest = 0;
  for (const s of obj.siblings) {
    if (s.expiresAtMs === undefined) return undefined;
    latest = Math.max(latest, s.expiresAtMs);
  }
  return obj.siblings.length === 0 ? undefined : latest;
}

/**
 * What `now` answers, as a settled promise, or `later()` when it answers NOT_IN_MEMORY. A throw of
 * `now` (a closed storage, a corrupt record) becomes a rejection, as from an asynchronous get.
 */
function inMemoryOr<T>(now: () => T | typeof NOT_IN_MEMORY, later: () => Promise<T>): Promise<T> {
  let answer: T | typeof NOT_IN_MEMORY;
  try {
    answer = now();
  } catch (err) {
    return Promise.reject(err);
  }
  return answer === NOT_IN_MEMORY ? later() : Promise.resolve(answer);
}

/** The object a stored record holds, with the bytes it was decoded from. */
function loaded(record: StoredRecord | undefined): StoredObject | undefined {
  if (record === undefined) return undefined;
  // Stored values are immutable (StoredRecord: callers must not mutate them) and record-sized
  // (both engines allocate each record's bytes apart), so the object's values may be views on
  // them instead of copies: the copy was the largest single cost of a local read.
  return { obj: decodeObject(record.value, { copyValues: false }), bytes: record.value };
}

/** Byte equality of two encoded objects. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.byteLength !== b.byteLength) return false;
  // Native memcmp (pure, no I/O): a JS loop over a whole object costs more than the call.
  return Buffer.compare(a, b) === 0;
}


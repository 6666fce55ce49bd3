/**
 * What the membership layer knows about one member, and the rules that order two versions of that
 * knowledge. Pure data and pure functions: the gossip state machine (membership.ts) owns the table.
 */
import type { Address, NodeId } from '../wire.js';

/**
 * A member's state.
 * - `joining`: started and announced itself, but has not yet heard back from the cluster. A node's
 *   own state only: a joining node sends nothing but JoinRequests, and the node receiving one
 *   records the sender `alive` (membership.ts). A `joining` record from elsewhere is still merged.
 * - `alive`: its heartbeat keeps advancing.
 * - `suspect`: some node's failure detector stopped hearing its heartbeat; refutable.
 * - `dead`: suspected for `suspicionTimeoutMs` without refutation. Stays in the ring (Dynamo).
 * - `leaving`: announced a graceful leave; still serving.
 * - `left`: gone for good in this generation; kept as a tombstone for `leftMemberTtlMs`.
 *
 * `joining`, `alive`, `leaving` and `left` are asserted by the member itself; `suspect` and `dead`
 * are opinions of others about one version of the member's info.
 */
export type MemberState = 'joining' | 'alive' | 'suspect' | 'dead' | 'leaving' | 'left';

export const MEMBER_STATES: readonly MemberState[] = ['joining', 'alive', 'suspect', 'dead', 'leaving', 'left'];

/**
 * Precedence of states at the same (generation, heartbeat) version, SWIM-style: an opinion about a
 * version overrides the member's own claim at that version (suspect beats alive, dead beats
 * suspect), and only a newer heartbeat from the member refutes it. `left` is final.
 */
const STATE_RANK: Readonly<Record<MemberState, number>> = {
  joining: 0,
  alive: 1,
  leaving: 2,
  suspect: 3,
  dead: 4,
  left: 5,
};

export function stateRank(state: MemberState): number {
  return STATE_RANK[state];
}

/** States only the member itself may assert (so a newer version in one of them is a fresh heartbeat). */
export function isSelfAssertedState(state: MemberState): boolean {
  return state === 'joining' || state === 'alive' || state === 'leaving' || state === 'left';
}

/**
 * Up for routing and quorum purposes: joining, alive, leaving, and suspect. A suspect counts as up
 * until it is declared dead, as in SWIM ("a suspected member is treated as a non-faulty member"):
 * suspicion is the window in which a false positive is refuted, and routing around every slow
 * heartbeat would flip preference lists to fallbacks and back, creating hints and handoff churn for
 * nothing. A really dead node costs at most `suspicionTimeoutMs` of requests that time out.
 */
export function isUpState(state: MemberState): boolean {
  return state === 'joining' || state === 'alive' || state === 'suspect' || state === 'leaving';
}

/**
 * In the ring (owns ranges): every member that announced itself and has not left. Dead members stay,
 * as in Dynamo: their ranges go to fallbacks with hints. Joining members are in, so a restart (which
 * passes through `joining` for one round trip) does not move ranges away and back.
 */
export function isRingState(state: MemberState): boolean {
  return state !== 'left';
}

/** A member's gossiped info: the unit of merge. */
export interface MemberRecord {
  readonly id: NodeId;
  readonly address: Address;
  /** Set at process start by the runtime; a restarted member has a larger one. */
  readonly generation: number;
  /** Bumped by the member itself every gossip tick; (generation, heartbeat) orders versions. */
  readonly heartbeat: number;
  readonly state: MemberState;
}

/** A read-only snapshot of a member for callers. */
export interface MemberView extends MemberRecord {
  /** Local time (env.clock) at which this node last saw the member's state change. */
  readonly stateChangedAtMs: number;
  /** The failure detector's current suspicion level; absent for self and for left members. */
  readonly phi?: number;
}

/**
 * Compares two versions of one member's info: negative when `a` is older than `b`, positive when
 * newer, 0 when identical in version and state precedence.
 */
export function compareRecords(a: MemberRecord, b: MemberRecord): number {
  if (a.generation !== b.generation) return a.generation < b.generation ? -1 : 1;
  if (a.heartbeat !== b.heartbeat) return a.heartbeat < b.heartbeat ? -1 : 1;
  return stateRank(a.state) - stateRank(b.state);
}

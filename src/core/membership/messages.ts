/**
 * Bodies of the membership messages (wire.ts types GossipPush, GossipPull, JoinRequest, Leave) and
 * their validation. Every body read from the wire goes through a `parse…` function here: a buggy or
 * hostile peer gets its message dropped with a reason, never an exception out of the handler.
 *
 * Exchange (push-pull, like Cassandra's SYN/ACK without the third leg):
 * - GossipPush {members}: the sender's table (self first), rid ≠ 0.
 * - GossipPull {members}: the reply, same rid: records the pusher had older or did not send.
 * - JoinRequest {member}: the joiner's own record (state joining), sent to seeds at start and,
 *   while joining, instead of each push; the receiver records the joiner alive at that version and
 *   answers with a GossipPull carrying its table.
 * - Leave {member}: the leaver's own record in state leaving or left, sent to every known member.
 */
import { MEMBER_STATES, type MemberRecord } from './member.js';

/** Longest node id accepted, characters (the envelope's sender-id limit in wire.ts). */
export const MAX_NODE_ID_LENGTH = 128;
/** Longest address accepted, characters: a 253-character DNS name plus ":65535", rounded up. */
export const MAX_ADDRESS_LENGTH = 260;

export interface GossipPushBody {
  readonly members: readonly MemberRecord[];
}

export interface GossipPullBody {
  readonly members: readonly MemberRecord[];
}

export interface JoinRequestBody {
  readonly member: MemberRecord;
}

export interface LeaveBody {
  readonly member: MemberRecord;
}

/** A parse result: the value, or why the input was rejected. */
export type Parsed<T> = { readonly ok: true; readonly value: T; readonly truncated: number } | { readonly ok: false; readonly reason: string };

const stateSet: ReadonlySet<string> = new Set<string>(MEMBER_STATES);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isVersionNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Validates one record; returns a reason when malformed. */
export function recordProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'member record is not an object';
  const { id, address, generation, heartbeat, state } = value;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_NODE_ID_LENGTH) return 'bad member id';
  if (typeof address !== 'string' || address.length === 0 || address.length > MAX_ADDRESS_LENGTH) return `bad address for ${id}`;
  if (!isVersionNumber(generation)) return `bad generation for ${id}`;
  if (!isVersionNumber(heartbeat)) return `bad heartbeat for ${id}`;
  if (typeof state !== 'string' || !stateSet.has(state)) return `bad state for ${id}`;
  return undefined;
}

/** Copies the known fields only, so extra fields from a newer or hostile peer are not kept. */
function toRecord(value: MemberRecord): MemberRecord {
  return { id: value.id, address: value.address, generation: value.generation, heartbeat: value.heartbeat, state: value.state };
}

/** A member list checked in place: `members[0 … kept)` are valid records, the rest is ignored. */
export type CheckedMemberList =
  | { readonly ok: true; readonly members: readonly MemberRecord[]; readonly kept: number; readonly truncated: number }
  | { readonly ok: false; readonly reason: string };

/**
 * Validates a GossipPush or GossipPull body without copying the records. Records beyond
 * `maxRecords` are ignored (counted in `truncated`), so a peer configured with a larger bound is
 * still heard; one malformed record rejects the whole list, naming it. The gossip handlers read
 * every record once and keep none (they copy the fields they store, which also drops unknown
 * fields), so a copy here would be one allocation per record for nothing. Only for callers that
 * never retain a record: the returned objects are the peer's, unknown fields included.
 */
export function checkMemberList(body: unknown, maxRecords: number): CheckedMemberList {
  if (!isObject(body)) return { ok: false, reason: 'body is not an object' };
  const members = body.members;
  if (!Array.isArray(members)) return { ok: false, reason: 'members is not an array' };
  const kept = Math.min(members.length, maxRecords);
  for (let i = 0; i < kept; i++) {
    const problem = recordProblem(members[i]);
    if (problem !== undefined) return { ok: false, reason: `record ${i}: ${problem}` };
  }
  // Validated above: every record before `kept` has the five fields with the right types.
  return { ok: true, members: members as MemberRecord[], kept, truncated: members.length - kept };
}

/** Parses a JoinRequest or Leave body; the record must be the sender's own. */
export function parseOwnRecord(body: unknown, senderId: string): Parsed<JoinRequestBody> {
  if (!isObject(body)) return { ok: false, reason: 'body is not an object' };
  const problem = recordProblem(body.member);
  if (problem !== undefined) return { ok: false, reason: problem };
  const member = toRecord(body.member as MemberRecord);
  if (member.id !== senderId) return { ok: false, reason: `record of ${member.id} sent by ${senderId}` };
  return { ok: true, value: { member }, truncated: 0 };
}

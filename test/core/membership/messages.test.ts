import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { InvalidConfigError } from '../../../src/errors.js';
import { compareRecords, type MemberRecord } from '../../../src/core/membership/member.js';
import { checkMemberList, parseMemberList, parseOwnRecord, recordProblem } from '../../../src/core/membership/messages.js';
import { MEMBERSHIP_DEFAULTS, resolveMembershipOptions } from '../../../src/core/membership/options.js';

const good: MemberRecord = { id: 'n1', address: 'n1:7000', generation: 5, heartbeat: 10, state: 'alive' };

describe('record validation', () => {
  test('a well-formed record passes and each broken field is named', () => {
    // Shows recordProblem accepts the canonical shape and rejects each field's wrong shapes.
    expect(recordProblem(good)).toBeUndefined();
    expect(recordProblem(null)).toMatch(/not an object/);
    expect(recordProblem([good])).toMatch(/not an object/);
    expect(recordProblem({ ...good, id: '' })).toMatch(/id/);
    expect(recordProblem({ ...good, id: 'x'.repeat(129) })).toMatch(/id/);
    expect(recordProblem({ ...good, address: 7 })).toMatch(/address/);
    expect(recordProblem({ ...good, generation: -1 })).toMatch(/generation/);
    expect(recordProblem({ ...good, generation: 1.5 })).toMatch(/generation/);
    expect(recordProblem({ ...good, heartbeat: Number.NaN })).toMatch(/heartbeat/);
    expect(recordProblem({ ...good, heartbeat: 2 ** 60 })).toMatch(/heartbeat/);
    expect(recordProblem({ ...good, state: 'zombie' })).toMatch(/state/);
  });

  test('parseMemberList keeps only known fields and truncates beyond the bound', () => {
    // Shows extra fields are not carried into the table and oversized lists are cut, not rejected.
    const parsed = parseMemberList({ members: [{ ...good, evil: 'x' }, good, good] }, 2);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value.members).toHaveLength(2);
    expect(parsed.truncated).toBe(1);
    expect(Object.keys(parsed.value.members[0] ?? {}).sort()).toEqual(['address', 'generation', 'heartbeat', 'id', 'state']);
  });

  test('parseMemberList rejects a list with one bad record', () => {
    // Shows one malformed record drops the whole message (a buggy peer), naming the record.
    const parsed = parseMemberList({ members: [good, { ...good, state: 1 }] }, 10);
    expect(parsed).toEqual({ ok: false, reason: expect.stringMatching(/record 1/) });
    expect(parseMemberList({ members: 'n1' }, 10).ok).toBe(false);
    expect(parseMemberList(undefined, 10).ok).toBe(false);
  });

  test('checkMemberList gives parseMemberList\'s verdict, reason and bound, on the peer\'s own objects', () => {
    // Shows the in-place check used by the gossip handlers accepts and rejects exactly what the parser does.
    const recordish = fc.record({
      id: fc.oneof(fc.constant('n1'), fc.string()),
      address: fc.oneof(fc.constant('n1:7000'), fc.anything()),
      generation: fc.oneof(fc.nat(3), fc.anything()),
      heartbeat: fc.oneof(fc.nat(1000), fc.double()),
      state: fc.oneof(fc.constantFrom('joining', 'alive', 'suspect', 'dead', 'leaving', 'left'), fc.string()),
    }, { requiredKeys: [] });
    const body = fc.oneof(fc.anything(), fc.record({ members: fc.oneof(fc.array(fc.oneof(recordish, fc.constant(good), fc.anything()), { maxLength: 6 }), fc.anything()) }));
    fc.assert(fc.property(body, fc.integer({ min: 1, max: 5 }), (b, max) => {
      const parsed = parseMemberList(b, max);
      const checked = checkMemberList(b, max);
      expect(checked.ok).toBe(parsed.ok);
      if (!parsed.ok || !checked.ok) {
        expect(checked).toEqual(parsed);
        return;
      }
      expect(checked.truncated).toBe(parsed.truncated);
      expect(checked.members.slice(0, checked.kept)).toEqual(parsed.value.members);
      expect(checked.members).toBe((b as { members: unknown }).members);
    }), { numRuns: 2000, seed: 17 });
  });

  test('parseOwnRecord requires the sender to describe itself', () => {
    // Shows a JoinRequest or Leave cannot speak for another node.
    expect(parseOwnRecord({ member: good }, 'n1').ok).toBe(true);
    expect(parseOwnRecord({ member: good }, 'n2')).toEqual({ ok: false, reason: 'record of n1 sent by n2' });
    expect(parseOwnRecord({}, 'n1').ok).toBe(false);
  });
});

describe('version order', () => {
  test('generation beats heartbeat, heartbeat beats state, and at one version dead beats suspect beats alive', () => {
    // Shows the merge order: a newer heartbeat refutes an opinion, an opinion overrides the same version.
    const v = (generation: number, heartbeat: number, state: MemberRecord['state']): MemberRecord => ({ ...good, generation, heartbeat, state });
    expect(compareRecords(v(2, 0, 'joining'), v(1, 99, 'dead'))).toBeGreaterThan(0);
    expect(compareRecords(v(1, 11, 'alive'), v(1, 10, 'dead'))).toBeGreaterThan(0);
    expect(compareRecords(v(1, 10, 'suspect'), v(1, 10, 'alive'))).toBeGreaterThan(0);
    expect(compareRecords(v(1, 10, 'dead'), v(1, 10, 'suspect'))).toBeGreaterThan(0);
    expect(compareRecords(v(1, 10, 'left'), v(1, 10, 'dead'))).toBeGreaterThan(0);
    expect(compareRecords(v(1, 10, 'alive'), v(1, 10, 'alive'))).toBe(0);
  });
});

describe('options', () => {
  test('defaults are applied in one place and the first-heartbeat estimate follows the interval', () => {
    // Shows the documented defaults and the derived default (2 × gossipIntervalMs, as Cassandra).
    const resolved = resolveMembershipOptions();
    expect(resolved).toMatchObject(MEMBERSHIP_DEFAULTS);
    expect(resolved.phiFirstHeartbeatEstimateMs).toBe(400);
    expect(resolveMembershipOptions({ gossipIntervalMs: 1000 }).phiFirstHeartbeatEstimateMs).toBe(2000);
  });

  test('a bad option throws InvalidConfigError naming it', () => {
    // Shows misconfiguration is an operating error with a typed error, not an assertion.
    expect(() => resolveMembershipOptions({ gossipFanout: 0 })).toThrow(InvalidConfigError);
    expect(() => resolveMembershipOptions({ maxMembers: 2.5 })).toThrow(/maxMembers/);
    expect(() => resolveMembershipOptions({ gossipIntervalMs: Number.NaN })).toThrow(/gossipIntervalMs/);
  });
});

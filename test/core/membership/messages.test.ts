import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { InvalidConfigError } from '../../../src/errors.js';
import { compareRecords, type MemberRecord } from '../../../src/core/membership/member.js';
import { checkMemberList, parseOwnRecord, recordProblem } from '../../../src/core/membership/messages.js';
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

  test('checkMemberList truncates beyond the bound and hands back the peer\'s own records', () => {
    // Shows oversized lists are cut, not rejected, and nothing is copied (the handlers copy what they keep).
    const body = { members: [{ ...good, evil: 'x' }, good, good] };
    const checked = checkMemberList(body, 2);
    expect(checked).toEqual({ ok: true, members: body.members, kept: 2, truncated: 1 });
    if (checked.ok) expect(checked.members).toBe(body.members);
  });

  test('checkMemberList rejects a list with one bad record, naming it', () => {
    // Shows one malformed record drops the whole message (a buggy peer); records past the bound are not looked at.
    expect(checkMemberList({ members: [good, { ...good, state: 1 }] }, 10)).toEqual({ ok: false, reason: expect.stringMatching(/^record 1: .*state/) });
    expect(checkMemberList({ members: [good, { ...good, state: 1 }] }, 1).ok).toBe(true);
    expect(checkMemberList({ members: 'n1' }, 10)).toEqual({ ok: false, reason: 'members is not an array' });
    expect(checkMemberList(undefined, 10)).toEqual({ ok: false, reason: 'body is not an object' });
  });

  test('checkMemberList accepts a list exactly when every record within the bound passes recordProblem', () => {
    // Shows, as a property over arbitrary bodies, the verdict, the reason (the first bad record) and the counts.
    const recordish = fc.record({
      id: fc.oneof(fc.constant('n1'), fc.string()),
      address: fc.oneof(fc.constant('n1:7000'), fc.anything()),
      generation: fc.oneof(fc.nat(3), fc.anything()),
      heartbeat: fc.oneof(fc.nat(1000), fc.double()),
      state: fc.oneof(fc.constantFrom('joining', 'alive', 'suspect', 'dead', 'leaving', 'left'), fc.string()),
    }, { requiredKeys: [] });
    const members = fc.array(fc.oneof(recordish, fc.constant(good), fc.anything()), { maxLength: 6 });
    fc.assert(fc.property(members, fc.integer({ min: 1, max: 5 }), (list, max) => {
      const checked = checkMemberList({ members: list }, max);
      const kept = Math.min(list.length, max);
      const firstBad = list.slice(0, kept).findIndex((r) => recordProblem(r) !== undefined);
      if (firstBad >= 0) {
        expect(checked).toEqual({ ok: false, reason: `record ${firstBad}: ${recordProblem(list[firstBad])}` });
      } else {
        expect(checked).toEqual({ ok: true, members: list, kept, truncated: list.length - kept });
      }
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

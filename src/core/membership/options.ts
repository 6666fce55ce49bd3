/**
 * Every tunable and bound of the membership layer, with its default and the reason for it. Defaults
 * are applied in one place (resolveMembershipOptions). References are to DESIGN.md §11.
 *
 * Detection-time arithmetic at the defaults (a member killed with kill -9 at time K):
 *
 *   Let I = gossipIntervalMs = 200, P = phiAcceptableHeartbeatPauseMs = 600,
 *   σ = max(measured deviation, phiMinStdDeviationMs = 100), μ = measured mean inter-arrival time
 *   of fresh heartbeats (≈ I: the member bumps once per tick and a new heartbeat reaches most nodes
 *   in the round it is made, straight from the member or from a node it pushed to),
 *   T = suspicionTimeoutMs = 600.
 *
 *   1. A survivor's last fresh heartbeat of the victim arrived at L, within one round of the
 *      victim's last tick: K − I < L < K + I.
 *   2. phi crosses phiSuspectThreshold = 8 when the normal tail probability is 1e-8, i.e.
 *      y ≈ 5.23 deviations above the mean (phiOf in phi-accrual.ts): at
 *      L + μ + P + 5.23·σ = L + 200 + 600 + 523 ≈ L + 1.32 s, noticed at the next tick (≤ I later).
 *   3. Unrefuted for T = 600 ms (suspicion starts on a tick, so T adds no rounding) → dead at
 *      ≈ L + 1.32 + (0…0.2) + 0.6 s = L + 1.9…2.1 s.
 *   4. Dead (and suspect before it) is gossiped at once in an eager round: nodes whose own detector
 *      is slower adopt it within one or two eager rounds (eagerGossipMinIntervalMs = 50).
 *
 *   So every survivor marks the victim dead ≈ 1.8–2.3 s after K once the windows are warm; right
 *   after start-up the window still holds the 300/500 ms bootstrap samples (μ ≈ 230, σ ≈ 110),
 *   adding ≈ 0.2 s. Measured in virtual time over many seeds (test/core/membership/cluster.test.ts):
 *   first suspicion 1.2–1.4 s, last survivor dead 1.8–2.05 s warm and ≤ 2.4 s just after
 *   start-up, with instant delivery and with 1–50 ms latency. The 3 s bound leaves ≈ 0.6 s for a σ
 *   above the 100 ms floor (each extra 100 ms of σ costs 523 ms). Clusters with much slower
 *   gossip paths (hundreds of nodes, WAN) measure a larger μ and σ and detect later, by design.
 *
 * Convergence arithmetic (10 nodes starting together, seeds contacted at once): a joiner's
 * JoinRequest reaches a seed in one hop, and the seed records the joiner alive on receipt; the
 * seed's answer gives the joiner the whole table and ends its joining, and the joiner pushes its
 * table to every member at once (the second and third hops). Meanwhile the seed's eager round
 * (≤ eagerGossipMinIntervalMs later) pushes the newcomer to 3 peers, each of which pushes eagerly
 * again. So one node joining a running ring is alive everywhere within three one-way delays.
 * Measured in virtual time: a node joining 10 converged ones, 29–50 ms with 1–21 ms latency over 5
 * seeds (test/core/membership/join.test.ts asserts ≤ 3 × 21 ms); 10 nodes started together with
 * seeds n1, n2, 27–46 ms with 1–21 ms latency over 20 seeds (43–89 ms before seeds recorded
 * joiners alive and events were batched per message), and within the first 1 ms step with
 * instant delivery. The real-process
 * figure (npm run bench:gossip) is dominated by process start and connection set-up under CPU
 * contention, not by gossip rounds.
 */
import { InvalidConfigError } from '../../errors.js';

export interface MembershipOptions {
  /**
   * Period of a gossip round, ms: the member bumps its heartbeat and push-pulls with
   * `gossipFanout` peers. Default 200 (memberlist LAN GossipInterval). Dynamo and Cassandra gossip
   * once a second, but phi needs several heartbeats per detection window to meet the 3 s bound.
   */
  readonly gossipIntervalMs?: number;
  /** Peers push-pulled per round. Default 3 (memberlist LAN GossipNodes). */
  readonly gossipFanout?: number;
  /**
   * Minimum spacing between extra ("eager") rounds triggered by new information (a new member, a
   * state change, a suspicion about us), ms. Default 50: a quarter of the interval, so a change
   * spreads in tens of ms but a burst of changes costs at most 4 extra rounds per interval.
   */
  readonly eagerGossipMinIntervalMs?: number;
  /**
   * Bound on the member table, including left tombstones, members. Default 1024 (far above a
   * Dynamo ring; the bound keeps a hostile peer from growing the table). When full, the oldest
   * tombstone is evicted, else the newcomer is dropped with a warning.
   */
  readonly maxMembers?: number;
  /**
   * Bound on member records in one gossip message (sent and read), records. Default 256: up to a
   * 256-node ring every push carries the whole table (~16 KB); above it, a random subset
   * plus the sender itself. Extra records in a received message are ignored and counted.
   */
  readonly maxGossipMembersPerMessage?: number;
  /**
   * phi at which this node suspects a member. Default 8 (Cassandra phi_convict_threshold): a
   * 1e-8 chance that a heartbeat this late is just late under the measured distribution.
   */
  readonly phiSuspectThreshold?: number;
  /**
   * Inter-arrival samples kept per member, samples. Default 200: 40 s of history at 200 ms
   * heartbeats. Cassandra and Akka keep 1000 at 1 s heartbeats; 200 keeps the same span of
   * recent conditions while bounding memory to 1.6 KB per member (1.6 MB at maxMembers).
   */
  readonly phiSampleWindowSize?: number;
  /**
   * Floor on the standard deviation phi uses, ms. Default 100 (Akka's min-std-deviation): without
   * it a very regular link would convict on the first slightly late heartbeat.
   */
  readonly phiMinStdDeviationMs?: number;
  /**
   * Added to the mean inter-arrival time, ms. Default 600: three gossip rounds, covering an
   * event-loop or GC stall and a heartbeat that travels two extra hops; Akka uses 3 s for 1 s
   * heartbeats, which the 3 s detection bound does not allow here.
   */
  readonly phiAcceptableHeartbeatPauseMs?: number;
  /**
   * Mean inter-arrival time assumed for a member before any sample, ms. Default 2 × gossipIntervalMs
   * (Cassandra's initial arrival-window value is twice its gossip interval).
   */
  readonly phiFirstHeartbeatEstimateMs?: number;
  /**
   * How long a member stays suspect without a refuting heartbeat before this node declares it
   * dead, ms. Default 600 (three gossip rounds: enough for the suspected member to hear of the
   * suspicion and for its newer heartbeat to travel back, two hops each way). memberlist's
   * suspicion timeout (4 × log10(n) × 1 s probe interval) is 4 s at 10 nodes, too long for the
   * 3 s bound; ringkv's suspicion starts later, after phi has already waited ≈ 1.3 s.
   */
  readonly suspicionTimeoutMs?: number;
  /**
   * How long a left member is kept as a tombstone, ms, so stale gossip cannot resurrect it.
   * Default 72 h (Cassandra keeps LEFT states for 3 days): longer than any partition worth healing.
   */
  readonly leftMemberTtlMs?: number;
  /**
   * Gossip rounds spent in `leaving` before announcing `left`, and again in `left` before this
   * node stops gossiping, rounds. Default 3: with fanout 3 that is 9 pushes per phase, on top of
   * a direct Leave message to every known member.
   */
  readonly leaveAnnounceRounds?: number;
}

export type ResolvedMembershipOptions = { readonly [K in keyof MembershipOptions]-?: NonNullable<MembershipOptions[K]> };

export const DEFAULT_GOSSIP_INTERVAL_MS = 200;

export const MEMBERSHIP_DEFAULTS: Omit<ResolvedMembershipOptions, 'phiFirstHeartbeatEstimateMs'> = {
  gossipIntervalMs: DEFAULT_GOSSIP_INTERVAL_MS,
  gossipFanout: 3,
  eagerGossipMinIntervalMs: 50,
  maxMembers: 1024,
  maxGossipMembersPerMessage: 256,
  phiSuspectThreshold: 8,
  phiSampleWindowSize: 200,
  phiMinStdDeviationMs: 100,
  phiAcceptableHeartbeatPauseMs: 600,
  suspicionTimeoutMs: 600,
  leftMemberTtlMs: 72 * 60 * 60 * 1000,
  leaveAnnounceRounds: 3,
};

function checkNumber(name: keyof MembershipOptions, value: number, min: number, integer: boolean): number {
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new InvalidConfigError(`membership option ${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}, got ${value}`,
      { option: name, value, min });
  }
  return value;
}

/** Applies the defaults and validates; throws InvalidConfigError naming the bad option. */
export function resolveMembershipOptions(options: MembershipOptions = {}): ResolvedMembershipOptions {
  const d = MEMBERSHIP_DEFAULTS;
  const gossipIntervalMs = checkNumber('gossipIntervalMs', options.gossipIntervalMs ?? d.gossipIntervalMs, 1, false);
  return {
    gossipIntervalMs,
    gossipFanout: checkNumber('gossipFanout', options.gossipFanout ?? d.gossipFanout, 1, true),
    eagerGossipMinIntervalMs: checkNumber('eagerGossipMinIntervalMs', options.eagerGossipMinIntervalMs ?? d.eagerGossipMinIntervalMs, 0, false),
    maxMembers: checkNumber('maxMembers', options.maxMembers ?? d.maxMembers, 1, true),
    maxGossipMembersPerMessage: checkNumber('maxGossipMembersPerMessage', options.maxGossipMembersPerMessage ?? d.maxGossipMembersPerMessage, 1, true),
    phiSuspectThreshold: checkNumber('phiSuspectThreshold', options.phiSuspectThreshold ?? d.phiSuspectThreshold, 0.1, false),
    phiSampleWindowSize: checkNumber('phiSampleWindowSize', options.phiSampleWindowSize ?? d.phiSampleWindowSize, 2, true),
    phiMinStdDeviationMs: checkNumber('phiMinStdDeviationMs', options.phiMinStdDeviationMs ?? d.phiMinStdDeviationMs, 1, false),
    phiAcceptableHeartbeatPauseMs: checkNumber('phiAcceptableHeartbeatPauseMs', options.phiAcceptableHeartbeatPauseMs ?? d.phiAcceptableHeartbeatPauseMs, 0, false),
    phiFirstHeartbeatEstimateMs: checkNumber('phiFirstHeartbeatEstimateMs', options.phiFirstHeartbeatEstimateMs ?? 2 * gossipIntervalMs, 1, false),
    suspicionTimeoutMs: checkNumber('suspicionTimeoutMs', options.suspicionTimeoutMs ?? d.suspicionTimeoutMs, 0, false),
    leftMemberTtlMs: checkNumber('leftMemberTtlMs', options.leftMemberTtlMs ?? d.leftMemberTtlMs, 0, false),
    leaveAnnounceRounds: checkNumber('leaveAnnounceRounds', options.leaveAnnounceRounds ?? d.leaveAnnounceRounds, 1, true),
  };
}

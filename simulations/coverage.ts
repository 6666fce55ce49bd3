/**
 * Coverage marks (FoundationDB's CODE_PROBE idea): how often a run reached the hard paths. They are
 * read from the nodes' own counters — replication stats, membership stats and membership change
 * events, summed over every incarnation — and from the simulated network. Scenario tests assert the
 * marks their scenario must reach, so a green run means those paths were exercised.
 */
import type { CoverageMark } from './scenarios/index.js';
import type { SimWorld } from './world/world.js';

export interface Coverage {
  /** Writes whose preference list used a fallback (replication.stats.sloppyQuorumWrites). */
  sloppyQuorum: number;
  /** Hinted objects stored by fallbacks (hintsStored). */
  hintStored: number;
  /** Hints delivered to their owner and deleted (hintsDelivered). */
  hintDelivered: number;
  /** Objects sent to stale replicas after reads (readRepairs). */
  readRepair: number;
  /** Writes that left more than one live sibling (siblingsCreated). */
  siblings: number;
  /** Members declared dead by a failure detector (membership convictions). */
  failureDetection: number;
  /** Members suspected (membership suspicions). */
  suspicions: number;
  /** Suspicions refuted by the suspected node. */
  refutations: number;
  /** "restarted" membership events: a node seen back with a newer generation. */
  restartsSeen: number;
  /** Tombstones reaped after every primary confirmed them (tombstonesReaped). */
  tombstonesReaped: number;
  /** Writes forwarded to a replica. */
  forwards: number;
  quorumFailures: number;
  timeouts: number;
  crashes: number;
  pauses: number;
  /** Messages dropped by partitions, by loss; messages duplicated, reordered. */
  droppedByPartition: number;
  droppedByLoss: number;
  duplicated: number;
  reordered: number;
  /** Writes a crash took before their sync tick. */
  writesLostInCrashes: number;
}

export const COVERAGE_MARKS: readonly CoverageMark[] = ['sloppyQuorum', 'hintStored', 'hintDelivered', 'readRepair', 'siblings', 'failureDetection'];

export function collectCoverage(world: SimWorld): Coverage {
  const c: Coverage = {
    sloppyQuorum: 0, hintStored: 0, hintDelivered: 0, readRepair: 0, siblings: 0, failureDetection: 0, suspicions: 0, refutations: 0,
    restartsSeen: 0, tombstonesReaped: 0, forwards: 0, quorumFailures: 0, timeouts: 0, crashes: 0, pauses: 0,
    droppedByPartition: world.network.stats.droppedPartition, droppedByLoss: world.network.stats.droppedLoss,
    duplicated: world.network.stats.duplicated, reordered: world.network.stats.reordered, writesLostInCrashes: 0,
  };
  for (const [id, t] of world.totals()) {
    const r = t.replication;
    c.sloppyQuorum += r.sloppyQuorumWrites;
    c.hintStored += r.hintsStored;
    c.hintDelivered += r.hintsDelivered;
    c.readRepair += r.readRepairs;
    c.siblings += r.siblingsCreated;
    c.forwards += r.forwards;
    c.tombstonesReaped += r.tombstonesReaped;
    c.quorumFailures += r.quorumFailures;
    c.timeouts += r.timeouts;
    c.failureDetection += t.convictions;
    c.suspicions += t.suspicions;
    c.refutations += t.refutations;
    c.restartsSeen += t.events.restarted ?? 0;
    c.crashes += t.crashes;
    c.pauses += t.pauses;
    c.writesLostInCrashes += world.host(id).disk.stats.writesLostInCrashes;
  }
  return c;
}

/** The marks a run did not reach, of those given. */
export function missingMarks(coverage: Coverage, marks: readonly CoverageMark[]): CoverageMark[] {
  return marks.filter((m) => coverage[m] === 0);
}

/**
 * Counters of the replication layer. They feed /metrics and double as the simulator's coverage
 * marks (did a run reach sloppy quorum, hint storage, delivery, read repair, siblings?).
 */
export interface ReplicationStats {
  gets: number;
  puts: number;
  deletes: number;
  /** Requests that failed because a quorum could not be met. */
  quorumFailures: number;
  timeouts: number;
  /** Client writes forwarded to a node in the preference list. */
  forwards: number;
  /** Writes whose preference list used at least one fallback (sloppy quorum). */
  sloppyQuorumWrites: number;
  /** Hinted objects stored by this node as a fallback. */
  hintsStored: number;
  /** Hints this node refused because its hint store was full. */
  hintsRefused: number;
  /** Hints delivered to their owner and deleted here. */
  hintsDelivered: number;
  /** Hints pending on this node now (gauge). */
  hintsPending: number;
  /** Bytes of hinted objects pending on this node now (gauge). */
  hintBytesPending: number;
  /** Objects sent to stale or missing replicas after a read. */
  readRepairs: number;
  /** Writes that left an object with more than one sibling. */
  siblingsCreated: number;
  /** Tombstones removed after every primary held them. */
  tombstonesReaped: number;
  /** Replica messages dropped because their body was malformed. */
  malformedMessages: number;
}

export function emptyReplicationStats(): ReplicationStats {
  return {
    gets: 0, puts: 0, deletes: 0, quorumFailures: 0, timeouts: 0, forwards: 0, sloppyQuorumWrites: 0,
    hintsStored: 0, hintsRefused: 0, hintsDelivered: 0, hintsPending: 0, hintBytesPending: 0,
    readRepairs: 0, siblingsCreated: 0, tombstonesReaped: 0, malformedMessages: 0,
  };
}

/** The outcome of one checker, as runs and the swarm report it. */
export interface CheckOutcome {
  /** Short name (checkName). */
  readonly name: string;
  /** The guarantee checked and under which configuration, in one sentence. */
  readonly guarantee: string;
  /** One line per violation; empty when the guarantee held. */
  readonly violations: string[];
}

export const checkName = {
  boot: 'boot-membership',
  membership: 'membership-agreement',
  liveness: 'liveness',
  lostWrites: 'no-lost-writes',
  convergence: 'convergence',
  hints: 'hints-delivered',
  nodeErrors: 'node-errors',
} as const;

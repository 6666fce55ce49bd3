/**
 * WARS latency models (Bailis et al., "Probabilistically Bounded Staleness for Practical Partial
 * Quorums", VLDB 2012, §5): the one-way delays of a write reaching a replica (W), its ack coming
 * back (A), a read reaching a replica (R) and its response coming back (S), each fitted to
 * production measurements as a mixture of a Pareto and an exponential distribution (ms).
 */
import { exponential, mixture, pareto, type LatencyModel } from '../world/latency.js';

export interface WarsModel {
  readonly name: string;
  readonly description: string;
  /** Coordinator → replica, write (ReplicaPut). */
  readonly w: LatencyModel;
  /** Replica → coordinator, write acknowledgement (ReplicaPutReply). */
  readonly a: LatencyModel;
  /** Coordinator → replica, read (ReplicaGet). */
  readonly r: LatencyModel;
  /** Replica → coordinator, read response (ReplicaGetReply). */
  readonly s: LatencyModel;
}

const lnkdSsd = mixture([0.9122, pareto(0.235, 10)], [0.0878, exponential(1.66)]);

export const WARS_MODELS: readonly WarsModel[] = [
  {
    name: 'LNKD-SSD',
    description: 'LinkedIn Voldemort on SSDs: W=A=R=S = 91.22% Pareto(0.235, 10) + 8.78% Exp(1.66)',
    w: lnkdSsd, a: lnkdSsd, r: lnkdSsd, s: lnkdSsd,
  },
  {
    name: 'LNKD-DISK',
    description: 'LinkedIn Voldemort on spinning disks: W = 38% Pareto(1.05, 1.51) + 62% Exp(0.183); A=R=S as LNKD-SSD',
    w: mixture([0.38, pareto(1.05, 1.51)], [0.62, exponential(0.183)]), a: lnkdSsd, r: lnkdSsd, s: lnkdSsd,
  },
  {
    name: 'YMMR',
    description: 'Yammer Riak: W = 93.9% Pareto(3, 3.35) + 6.1% Exp(0.0028); A=R=S = 98.2% Pareto(1.5, 3.8) + 1.8% Exp(0.0217)',
    w: mixture([0.939, pareto(3, 3.35)], [0.061, exponential(0.0028)]),
    a: mixture([0.982, pareto(1.5, 3.8)], [0.018, exponential(0.0217)]),
    r: mixture([0.982, pareto(1.5, 3.8)], [0.018, exponential(0.0217)]),
    s: mixture([0.982, pareto(1.5, 3.8)], [0.018, exponential(0.0217)]),
  },
];

export function warsModel(name: string): WarsModel | undefined {
  return WARS_MODELS.find((m) => m.name.toLowerCase() === name.toLowerCase());
}

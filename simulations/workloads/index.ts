/** The workloads by name, for the CLI, the swarm and the real-process chaos runner. */
import type { Workload } from './client.js';
import { MixedWorkload, type MixedOptions } from './mixed.js';
import { RegisterWorkload, type RegisterOptions } from './register.js';
import { SetAddWorkload, type SetAddOptions } from './set-add.js';

/** The options of every workload together; each reads its own. */
export type AnyWorkloadOptions = SetAddOptions & RegisterOptions & MixedOptions;

export const WORKLOAD_NAMES = ['set-add', 'register', 'mixed'] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

export function isWorkloadName(name: string): name is WorkloadName {
  return (WORKLOAD_NAMES as readonly string[]).includes(name);
}

export function createWorkload(name: WorkloadName, options: AnyWorkloadOptions): Workload {
  switch (name) {
    case 'set-add':
      return new SetAddWorkload(options);
    case 'register':
      return new RegisterWorkload(options);
    case 'mixed':
      return new MixedWorkload(options);
  }
}

export type { ClientRead, ClientWrite, FinalRead, KvClient, Workload, WorkloadCheck, WorkloadOptions, WorkloadRuntime } from './client.js';

/**
 * ringkv's public API for embedding a node in a Node.js program. The client SDK is a separate
 * entry: `ringkv/client`. Internals are not reachable from the package's exports.
 */
export { startNode, RINGKV_VERSION, type RunningNode, type StartNodeExtras } from './runtime/node-process.js';
export {
  DEFAULT_NODE_OPTIONS, resolveOptions, parseEnv, parseFlags, envName, flagName,
  type NodeOptions, type FsyncPolicy, type StorageKind,
} from './config.js';
export * from './errors.js';
export { RingNode, type NodeComponents, type RingNodeOptions, type NodeGetResult, type NodeStatus } from './core/node.js';
export type { Env, Clock, Timers, Random, Logger } from './core/env.js';
export type { Transport } from './core/transport.js';
export { openStorage, MemoryEngine, LogEngine, type StorageEngine, type OpenStorageOptions } from './storage/index.js';

/**
 * What the three client interfaces (client WebSocket, HTTP/JSON, RESP) need from a node: one
 * narrow service, so each server is testable on its own and none reaches into the core.
 */
import type { GetResult, PutResult } from './client-protocol.js';
import type { GetOptions, WriteOptions } from '../core/replication/coordinator.js';

/** Per-request read options: R and the timeout (the coordinator's own type). */
export type KvGetOptions = GetOptions;

/** Per-request write options: W, timeout, context, context mode, TTL (the coordinator's own type). */
export type KvWriteOptions = WriteOptions;

export interface KvService {
  readonly nodeId: string;
  get(key: string, options?: KvGetOptions): Promise<GetResult>;
  /** The one value a context-less reader sees: siblings resolved by the deterministic rule. */
  getOne(key: string, options?: KvGetOptions): Promise<Uint8Array | undefined>;
  put(key: string, value: Uint8Array, options?: KvWriteOptions): Promise<PutResult>;
  delete(key: string, options?: KvWriteOptions): Promise<PutResult>;
  status(): unknown;
}

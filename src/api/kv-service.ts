/**
 * What the three client interfaces (client WebSocket, HTTP/JSON, RESP) need from a node: one
 * narrow service, so each server is testable on its own and none reaches into the core.
 */
import type { GetResult, PutResult } from './client-protocol.js';

export interface KvGetOptions {
  readonly r?: number | undefined;
  readonly timeoutMs?: number | undefined;
}

export interface KvWriteOptions {
  readonly w?: number | undefined;
  readonly timeoutMs?: number | undefined;
  readonly context?: string | undefined;
  /** "local": supersede what the coordinating node has seen (Redis SET). Default "given". */
  readonly contextMode?: 'given' | 'local' | undefined;
  readonly ttlMs?: number | undefined;
}

export interface KvService {
  readonly nodeId: string;
  get(key: string, options?: KvGetOptions): Promise<GetResult>;
  /** The one value a context-less reader sees: siblings resolved by the deterministic rule. */
  getOne(key: string, options?: KvGetOptions): Promise<Uint8Array | undefined>;
  put(key: string, value: Uint8Array, options?: KvWriteOptions): Promise<PutResult>;
  delete(key: string, options?: KvWriteOptions): Promise<PutResult>;
  status(): unknown;
}

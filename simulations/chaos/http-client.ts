/**
 * A workload client over a real node's HTTP API (GET/PUT /kv/{key}; the context travels in the
 * X-Ringkv-Context header; several siblings come back as 300 with a JSON body). Which node it talks
 * to is decided per request by `target()`, so the chaos runner can fail clients over from a killed
 * node as the simulator's clients do.
 */
import { RingkvError, ErrorCode, NotConnectedError, TimeoutError } from '../../src/errors.js';
import type { ClientRead, ClientWrite, KvClient } from '../workloads/client.js';

const CONTEXT_HEADER = 'x-ringkv-context';

export interface HttpClientOptions {
  /** Server-side timeout sent with every request (?timeout=), ms. Default 5000. */
  readonly requestTimeoutMs?: number | undefined;
  /** Client-side bound on a request, ms. Default requestTimeoutMs + 2000 (a forwarded write may take a second more). */
  readonly clientTimeoutMs?: number | undefined;
}

interface SiblingJson {
  readonly deleted: boolean;
  readonly valueBase64: string | null;
}

async function errorOf(res: Response): Promise<RingkvError> {
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    return new RingkvError((body.error?.code ?? ErrorCode.INTERNAL) as ErrorCode, body.error?.message ?? `HTTP ${res.status}`);
  } catch {
    return new RingkvError(ErrorCode.INTERNAL, `HTTP ${res.status}`);
  }
}

export class HttpKvClient implements KvClient {
  private readonly requestTimeoutMs: number;
  private readonly clientTimeoutMs: number;

  constructor(readonly name: string, private readonly target: () => string | undefined, options: HttpClientOptions = {}) {
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.clientTimeoutMs = options.clientTimeoutMs ?? this.requestTimeoutMs + 2000;
  }

  private async request(key: string, init: RequestInit, query: Record<string, number | undefined>): Promise<Response> {
    const base = this.target();
    if (base === undefined) throw new NotConnectedError('no node is up');
    const params = new URLSearchParams({ timeout: String(this.requestTimeoutMs) });
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    try {
      return await fetch(`${base}/kv/${encodeURIComponent(key)}?${params}`, { ...init, signal: AbortSignal.timeout(this.clientTimeoutMs) });
    } catch (err) {
      if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
        throw new TimeoutError('client request', this.clientTimeoutMs, { node: base });
      }
      // Connection refused (the node is down): nothing was sent.
      throw new NotConnectedError(`${base}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async get(key: string, options: { readonly r?: number | undefined } = {}): Promise<ClientRead> {
    const res = await this.request(key, { method: 'GET' }, { r: options.r });
    const context = res.headers.get(CONTEXT_HEADER) ?? '';
    if (res.status === 200) return { values: [new Uint8Array(await res.arrayBuffer())], context };
    if (res.status === 404) {
      await res.arrayBuffer();
      return { values: [], context };
    }
    if (res.status === 300) {
      const body = (await res.json()) as { siblings: SiblingJson[]; context: string };
      const values = body.siblings.filter((s) => !s.deleted && s.valueBase64 !== null).map((s) => new Uint8Array(Buffer.from(s.valueBase64 as string, 'base64')));
      return { values, context: body.context };
    }
    throw await errorOf(res);
  }

  async put(key: string, value: Uint8Array, options: { readonly context?: string | undefined; readonly w?: number | undefined } = {}): Promise<ClientWrite> {
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (options.context !== undefined && options.context !== '') headers[CONTEXT_HEADER] = options.context;
    const res = await this.request(key, { method: 'PUT', body: value, headers }, { w: options.w });
    if (res.status === 204) return { context: res.headers.get(CONTEXT_HEADER) ?? '' };
    throw await errorOf(res);
  }

  async delete(key: string, options: { readonly context?: string | undefined; readonly w?: number | undefined } = {}): Promise<ClientWrite> {
    const headers: Record<string, string> = {};
    if (options.context !== undefined && options.context !== '') headers[CONTEXT_HEADER] = options.context;
    const res = await this.request(key, { method: 'DELETE', headers }, { w: options.w });
    if (res.status === 204) return { context: res.headers.get(CONTEXT_HEADER) ?? '' };
    throw await errorOf(res);
  }
}

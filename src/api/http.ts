/**
 * HTTP/JSON API on the node's port, for curl and scripts.
 *
 *   GET    /kv/{key}?r=&timeout=         200 value bytes | 300 JSON siblings | 404
 *   PUT    /kv/{key}?w=&timeout=&ttl=    204   (POST is accepted as a synonym)
 *   DELETE /kv/{key}?w=&timeout=         204
 *   GET    /health                       200 {"status":"ok",...}
 *   GET    /cluster/members              {"members":[{id,address,state,generation,heartbeat}]}
 *   GET    /cluster/ring                 ownership per node
 *   GET    /cluster/preflist/{key}       the key's primaries and its annotated preference list
 *   GET    /status                       everything `ringkv status` prints
 *   GET    /metrics                      Prometheus text format (when a metrics source is given)
 *   POST   /cluster/leave                leave the ring for good, then stop the node
 *
 * The causal context travels in the `X-Ringkv-Context` header both ways. Errors answer with a JSON
 * body {"error":{"code","message","details"}} and a status from the code: 400 bad input, 413 too
 * large, 503 quorum unavailable or overloaded, 504 timeout, 409 too many siblings.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../core/env.js';
import {
  ErrorCode, InvalidArgumentError, RingkvError, ValueTooLargeError, errorToWire,
} from '../errors.js';
import type { GetResult } from './client-protocol.js';
import type { KvService } from './kv-service.js';

export const CONTEXT_HEADER = 'x-ringkv-context';

export interface HttpApiOptions {
  /** Largest request body, bytes (the largest value). Default 16 MiB. */
  readonly maxBodyBytes?: number;
}

export interface ClusterInfoSource {
  members(): unknown;
  ring(): unknown;
  status(): unknown;
  health(): { ok: boolean; [k: string]: unknown };
  /** Prometheus exposition text, when metrics are enabled. */
  metrics?(): Promise<{ contentType: string; body: string }>;
  /** The key's preference list: primaries and, with liveness applied, the annotated list. */
  preflist(key: string): unknown;
  /** Asks the node to leave the ring for good (POST /cluster/leave); absent = not allowed here. */
  leave?(): void;
  /** Extra routes (e.g. the testing fault endpoint); return true when handled. */
  extraRoute?(req: IncomingMessage, res: ServerResponse, url: URL): boolean | Promise<boolean>;
}

const STATUS_BY_CODE: Partial<Record<string, number>> = {
  [ErrorCode.INVALID_ARGUMENT]: 400,
  [ErrorCode.INVALID_KEY]: 400,
  [ErrorCode.KEY_TOO_LARGE]: 400,
  [ErrorCode.INVALID_QUORUM]: 400,
  [ErrorCode.INVALID_CONTEXT]: 400,
  [ErrorCode.VALUE_TOO_LARGE]: 413,
  [ErrorCode.TOO_MANY_SIBLINGS]: 409,
  [ErrorCode.QUORUM_UNAVAILABLE]: 503,
  [ErrorCode.OVERLOADED]: 503,
  [ErrorCode.TIMEOUT]: 504,
};

export function httpStatusFor(err: unknown): number {
  return err instanceof RingkvError ? (STATUS_BY_CODE[err.code] ?? 500) : 500;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, httpStatusFor(err), { error: errorToWire(err) });
}

function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      reject(new ValueTooLargeError(declared, maxBytes));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.byteLength;
      if (size > maxBytes) {
        failed = true;
        reject(new ValueTooLargeError(size, maxBytes));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (!failed) reject(err);
    });
  });
}

function intParam(url: URL, name: string): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return undefined;
  if (!/^\d+$/.test(raw)) throw new InvalidArgumentError(`query parameter ${name} must be a whole number, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function siblingJson(s: GetResult['siblings'][number]): Record<string, unknown> {
  let text: string | null = null;
  if (s.value !== null) {
    try {
      text = utf8.decode(s.value);
    } catch {
      text = null;
    }
  }
  return {
    deleted: s.value === null,
    value: text,
    valueBase64: s.value === null ? null : Buffer.from(s.value).toString('base64'),
    writtenAtMs: s.writtenAtMs,
    node: s.node,
    ...(s.expiresAtMs === undefined ? {} : { expiresAtMs: s.expiresAtMs }),
  };
}

/** Builds the request handler of the node's HTTP port. */
export function createHttpHandler(
  service: KvService, cluster: ClusterInfoSource, logger: Logger, options: HttpApiOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const maxBodyBytes = options.maxBodyBytes ?? 16 * 1024 * 1024;

  async function handleKv(req: IncomingMessage, res: ServerResponse, url: URL, key: string): Promise<void> {
    const timeoutMs = intParam(url, 'timeout');
    const contextHeader = req.headers[CONTEXT_HEADER];
    const context = typeof contextHeader === 'string' && contextHeader.length > 0 ? contextHeader : undefined;
    switch (req.method) {
      case 'GET':
      case 'HEAD': {
        const result = await service.get(key, { r: intParam(url, 'r'), timeoutMs });
        const headers = { [CONTEXT_HEADER]: result.context };
        const live = result.siblings;
        if (live.length === 0) return sendJson(res, 404, { error: { code: 'ERR_NOT_FOUND', message: `key ${JSON.stringify(key)} not found` } }, headers);
        const only = live[0];
        if (live.length === 1 && only !== undefined && only.value !== null) {
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': only.value.byteLength, ...headers });
          res.end(req.method === 'HEAD' ? undefined : only.value);
          return;
        }
        return sendJson(res, 300, { siblings: live.map(siblingJson), context: result.context }, headers);
      }
      case 'PUT':
      case 'POST': {
        const body = await readBody(req, maxBodyBytes);
        const ttlSeconds = intParam(url, 'ttl');
        const { context: after } = await service.put(key, new Uint8Array(body.buffer, body.byteOffset, body.byteLength), {
          w: intParam(url, 'w'), timeoutMs, context, ttlMs: ttlSeconds === undefined ? undefined : ttlSeconds * 1000,
        });
        res.writeHead(204, { [CONTEXT_HEADER]: after });
        res.end();
        return;
      }
      case 'DELETE': {
        const { context: after } = await service.delete(key, { w: intParam(url, 'w'), timeoutMs, context });
        res.writeHead(204, { [CONTEXT_HEADER]: after });
        res.end();
        return;
      }
      default:
        res.writeHead(405, { allow: 'GET, HEAD, PUT, POST, DELETE' });
        res.end();
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://ringkv.invalid');
    const path = url.pathname;
    if (path.startsWith('/kv/')) {
      let key: string;
      try {
        key = decodeURIComponent(path.slice('/kv/'.length));
      } catch {
        throw new InvalidArgumentError('the key in the URL is not valid percent-encoding');
      }
      if (key.length === 0) throw new InvalidArgumentError('missing key: use /kv/{key}');
      return handleKv(req, res, url, key);
    }
    if (path.startsWith('/cluster/preflist/') && req.method === 'GET') {
      return sendJson(res, 200, cluster.preflist(decodeURIComponent(path.slice('/cluster/preflist/'.length))));
    }
    if (path === '/cluster/leave' && req.method === 'POST' && cluster.leave) {
      cluster.leave();
      return sendJson(res, 202, { status: 'leaving' });
    }
    if (req.method !== 'GET' && !(cluster.extraRoute && path.startsWith('/testing/'))) {
      res.writeHead(405, { allow: 'GET' });
      res.end();
      return;
    }
    switch (path) {
      case '/health': {
        const health = cluster.health();
        return sendJson(res, health.ok ? 200 : 503, { status: health.ok ? 'ok' : 'unhealthy', ...health });
      }
      case '/cluster/members':
        return sendJson(res, 200, cluster.members());
      case '/cluster/ring':
        return sendJson(res, 200, cluster.ring());
      case '/status':
        return sendJson(res, 200, cluster.status());
      case '/metrics':
        if (cluster.metrics) {
          const { contentType, body } = await cluster.metrics();
          res.writeHead(200, { 'content-type': contentType });
          res.end(body);
          return;
        }
        break;
      default:
        if (cluster.extraRoute && (await cluster.extraRoute(req, res, url))) return;
    }
    sendJson(res, 404, { error: { code: 'ERR_NOT_FOUND', message: `no route for ${req.method} ${path}` } });
  }

  return (req, res) => {
    route(req, res).catch((err: unknown) => {
      if (!(err instanceof RingkvError)) logger.error({ err, url: req.url }, 'HTTP request failed');
      sendError(res, err);
    });
  };
}

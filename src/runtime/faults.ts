/**
 * Fault injection for chaos tests, present only when a node starts with --testing-faults. It wraps
 * the transport and drops frames to or from chosen peers, so a real-process test can partition a
 * ring without root privileges or iptables.
 *
 *   GET  /testing/faults                 the current drop lists
 *   POST /testing/faults  {"dropOutbound": ["host:port" | "nodeId", ...], "dropInbound": [...]}
 *   POST /testing/faults/heal            drop nothing again
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../core/env.js';
import type { MessageHandler, Transport, TransportStats } from '../core/transport.js';
import type { Address, Envelope } from '../core/wire.js';

const MAX_FAULT_BODY_BYTES = 64 * 1024;

export class FaultInjector implements Transport {
  private dropOutbound = new Set<string>();
  private dropInbound = new Set<string>();
  private dropped = 0;

  constructor(private readonly inner: Transport, private readonly logger: Logger) {
    logger.warn({}, 'fault injection is ENABLED (--testing-faults); never use this in production');
  }

  get localId(): string {
    return this.inner.localId;
  }

  get localAddress(): Address {
    return this.inner.localAddress;
  }

  send(address: Address, msg: Envelope): void {
    if (this.dropOutbound.has(address)) {
      this.dropped++;
      return;
    }
    this.inner.send(address, msg);
  }

  peerUp(address: Address): void {
    this.inner.peerUp?.(address);
  }

  onMessage(handler: MessageHandler): void {
    this.inner.onMessage((msg, fromAddress) => {
      if (this.dropInbound.has(msg.from) || (fromAddress !== undefined && this.dropInbound.has(fromAddress))) {
        this.dropped++;
        return;
      }
      handler(msg, fromAddress);
    });
  }

  stats(): TransportStats {
    const s = this.inner.stats();
    return { ...s, framesDropped: s.framesDropped + this.dropped };
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** HTTP routes under /testing/faults; true when handled. */
  async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    if (!url.pathname.startsWith('/testing/faults')) return false;
    const reply = (status: number, body: unknown): true => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
      return true;
    };
    if (url.pathname === '/testing/faults/heal' && req.method === 'POST') {
      this.dropOutbound = new Set();
      this.dropInbound = new Set();
      this.logger.warn({}, 'faults healed');
      return reply(200, this.describe());
    }
    if (url.pathname !== '/testing/faults') return reply(404, { error: { code: 'ERR_NOT_FOUND', message: 'no such fault route' } });
    if (req.method === 'GET') return reply(200, this.describe());
    if (req.method !== 'POST') return reply(405, { error: { code: 'ERR_INVALID_ARGUMENT', message: 'use GET or POST' } });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.byteLength;
      if (size > MAX_FAULT_BODY_BYTES) return reply(413, { error: { code: 'ERR_VALUE_TOO_LARGE', message: 'fault body too large' } });
      chunks.push(chunk);
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return reply(400, { error: { code: 'ERR_INVALID_ARGUMENT', message: 'body must be JSON' } });
    }
    const list = (v: unknown): string[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined);
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const outbound = list(b.dropOutbound ?? []);
    const inbound = list(b.dropInbound ?? []);
    if (outbound === undefined || inbound === undefined) {
      return reply(400, { error: { code: 'ERR_INVALID_ARGUMENT', message: 'dropOutbound and dropInbound must be arrays of strings' } });
    }
    this.dropOutbound = new Set(outbound);
    this.dropInbound = new Set(inbound);
    this.logger.warn({ dropOutbound: outbound, dropInbound: inbound }, 'faults set');
    return reply(200, this.describe());
  }

  private describe(): unknown {
    return { dropOutbound: [...this.dropOutbound], dropInbound: [...this.dropInbound], framesDropped: this.dropped };
  }
}

/**
 * Starts a real node: opens storage, listens on one port for HTTP plus the /peer and /client
 * WebSocket paths, optionally a RESP port, and runs the sans-IO RingNode with the real
 * environment. `stop()` undoes all of it in reverse order.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger as PinoLogger } from 'pino';
import type { NodeOptions } from '../config.js';
import { listenError } from '../errors.js';
import { RingNode, type NodeGetResult } from '../core/node.js';
import { createKeyHasher } from '../core/ring/index.js';
import { openStorage } from '../storage/index.js';
import type { StorageEngine } from '../storage/types.js';
import { CLIENT_WS_PATH, PEER_WS_PATH } from '../api/client-protocol.js';
import { ClientServer } from '../api/client-server.js';
import { createHttpHandler, type ClusterInfoSource } from '../api/http.js';
import type { KvService } from '../api/kv-service.js';
import { NodeRespBackend } from '../api/resp-backend.js';
import { RespServer } from '../api/resp/server.js';
import { realEnv } from './env.js';
import { createLogger } from './logger.js';
import { WsTransport } from './ws-transport.js';
import { FaultInjector } from './faults.js';
import { NodeMetrics } from './metrics.js';

/** The running version, reported by /status and INFO. */
export const RINGKV_VERSION = '0.1.0';

export interface RunningNode {
  readonly options: NodeOptions;
  readonly node: RingNode;
  readonly logger: PinoLogger;
  /** The HTTP/WebSocket port actually bound (differs from options.port when that was 0). */
  readonly port: number;
  /** The RESP port actually bound, or 0 when disabled. */
  readonly respPort: number;
  /** Stops serving and closes storage; with `leave`, first leaves the ring for good. */
  stop(options?: { leave?: boolean }): Promise<void>;
}

export interface StartNodeExtras {
  /** Use this logger instead of creating one. */
  readonly logger?: PinoLogger | undefined;
  /** Generation to use (default: the wall-clock start time, which grows on every restart). */
  readonly generation?: number | undefined;
  /** Called after POST /cluster/leave made the node leave and stop (the CLI exits the process). */
  readonly onLeft?: (() => void) | undefined;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: unknown): void => reject(listenError(err, 'HTTP and peers (--port)', host, port));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

export async function startNode(options: NodeOptions, extras: StartNodeExtras = {}): Promise<RunningNode> {
  const logger = extras.logger ?? createLogger({
    nodeId: options.id,
    level: options.logLevel as 'info',
    format: options.logFormat,
  });
  const env = realEnv(logger);
  const generation = extras.generation ?? await nextGeneration(options);

  const storage: StorageEngine = await openStorage({
    kind: options.storage,
    dir: path.resolve(options.dataDir),
    clock: env.clock,
    logger: logger.child({ component: 'storage' }),
    fsync: options.fsync,
    fsyncIntervalMs: options.fsyncIntervalMs,
    valueCacheMaxBytes: options.valueCacheMaxBytes,
    // Replication stores encoded objects (siblings and clocks around the value): leave headroom.
    maxKeyBytes: options.maxKeyBytes + 256,
    maxValueBytes: options.maxValueBytes * 2 + 64 * 1024,
  });

  const httpServer = createServer();
  let respPort = 0;
  let transport: WsTransport | undefined;
  let resp: RespServer | undefined;
  let clientServer: ClientServer | undefined;
  // Handlers go on before listening: a peer that dials while this node is still starting gets a
  // prompt 503 and retries, instead of a socket nobody answers until its handshake times out.
  let onRequest: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  let onUpgrade: ((req: IncomingMessage, socket: Duplex, head: Buffer) => void) | undefined;
  httpServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (onRequest !== undefined) return onRequest(req, res);
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
    res.end(JSON.stringify({ error: { code: 'ERR_NOT_CONNECTED', message: 'node is starting' } }));
  });
  httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (onUpgrade !== undefined) return onUpgrade(req, socket, head);
    socket.end('HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\r\n');
  });
  try {
    // Bind first so that port 0 resolves to a real port before peers learn our address.
    const port = await listen(httpServer, options.port, options.host);
    const address = options.port === 0 ? `${options.advertiseAddress.split(':')[0] ?? options.host}:${port}` : options.advertiseAddress;
    transport = new WsTransport({
      localId: options.id,
      localAddress: address,
      clusterName: options.clusterName,
      logger: logger.child({ component: 'transport' }),
    });
    const faults = options.testingFaults ? new FaultInjector(transport, logger) : undefined;
    const node = new RingNode(
      { env, transport: faults ?? transport, storage, hasher: await createKeyHasher() },
      {
        id: options.id,
        address,
        generation,
        seeds: options.seeds.filter((s) => s !== address),
        vnodesPerNode: options.vnodesPerNode === 0 ? undefined : options.vnodesPerNode,
        membership: options.gossipIntervalMs === 0 ? undefined : { gossipIntervalMs: options.gossipIntervalMs },
        replication: {
          nVal: options.nVal, r: options.r, w: options.w, requestTimeoutMs: options.requestTimeoutMs,
          maxKeyBytes: options.maxKeyBytes, maxValueBytes: options.maxValueBytes,
        },
      },
    );
    const metrics = new NodeMetrics(node, storage, transport);
    const service = kvService(node, metrics);
    const cluster: ClusterInfoSource = {
      members: () => ({ members: node.membership.members() }),
      ring: () => ringReport(node),
      status: () => ({
        ...node.status(), version: RINGKV_VERSION, storage: storage.stats(), transport: transport?.stats(),
        ring: ringReport(node),
      }),
      health: () => ({ ok: true, id: options.id, version: RINGKV_VERSION, members: node.membership.members().length }),
      metrics: () => metrics.render(),
      leave: () => {
        // Answer the HTTP request first; leaving stops this server.
        setTimeout(() => {
          void stopRef.current?.({ leave: true }).then(() => extras.onLeft?.());
        }, 10);
      },
      preflist: (key: string) => ({
        key,
        primaries: node.primaries(key, node.replication.options.nVal),
        preflist: node.preferenceList(key, node.replication.options.nVal),
      }),
      extraRoute: faults === undefined ? undefined : async (req: IncomingMessage, res: ServerResponse, url: URL) => {
        if (url.pathname.startsWith('/testing/local/') && req.method === 'GET') {
          // A replica's own copy of a key (testing only): what convergence checkers compare.
          const key = decodeURIComponent(url.pathname.slice('/testing/local/'.length));
          const hintFor = url.searchParams.get('hintFor') ?? undefined;
          const obj = await node.replication.store.read(key, hintFor);
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(obj === undefined ? { found: false } : {
            found: true,
            siblings: obj.siblings.map((s) => ({
              value: s.value === null ? null : Buffer.from(s.value).toString('utf8'), writtenAtMs: s.writtenAtMs, node: s.node, dot: s.dot,
            })),
            clock: obj.clock,
          }));
          return true;
        }
        return faults.route(req, res, url);
      },
    };
    const stopRef: { current?: (o?: { leave?: boolean }) => Promise<void> } = {};
    const handler = createHttpHandler(service, cluster, logger, { maxBodyBytes: options.maxValueBytes });

    clientServer = new ClientServer(service, logger.child({ component: 'client-server' }), {
      maxFrameBytes: options.maxValueBytes + 1024 * 1024,
    });
    const wsTransport = transport;
    const wsClients = clientServer;
    await node.start();
    onRequest = handler;
    onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      const pathname = (req.url ?? '').split('?')[0];
      if (pathname === PEER_WS_PATH) wsTransport.handleUpgrade(req, socket, head);
      else if (pathname === CLIENT_WS_PATH) wsClients.handleUpgrade(req, socket, head);
      else socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
    };
    if (options.respPort !== 0) {
      resp = new RespServer({
        host: options.host,
        port: options.respPort,
        logger: logger.child({ component: 'resp' }),
        backend: new NodeRespBackend(service, () => ({
          node_id: options.id,
          ring_nodes: node.currentRing().nodes.length,
          members_alive: node.membership.members().filter((m) => m.state === 'alive').length,
          hints_pending: node.replication.stats.hintsPending,
        })),
      });
      respPort = (await resp.listen()).port;
    }
    logger.info({ address, port, respPort, dataDir: options.dataDir, storage: options.storage, seeds: options.seeds }, 'node started');

    let stopped = false;
    const stop = async (stopOptions: { leave?: boolean } = {}): Promise<void> => {
      if (stopped) return;
      stopped = true;
      if (stopOptions.leave) await node.leave();
      node.stop();
      await resp?.close();
      await clientServer?.close();
      await transport?.close();
      await new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeAllConnections();
      });
      env.timers.clearAll();
      await storage.close();
      logger.info({}, 'node stopped');
      logger.flush();
    };
    stopRef.current = stop;
    return { options, node, logger, port, respPort, stop };
  } catch (err) {
    await resp?.close().catch(() => undefined);
    await clientServer?.close().catch(() => undefined);
    await transport?.close().catch(() => undefined);
    httpServer.close();
    await storage.close().catch(() => undefined);
    throw err;
  }
}

/**
 * The generation of this run: the wall clock at start, but never at or below the last run's (kept
 * in <dataDir>/GENERATION). Peers readmit a restarted node only with a newer generation, so a
 * clock that stepped back (NTP) must not make a restart look older — the simulator's
 * restart-clock-step scenario showed such a node is never readmitted. Memory storage keeps nothing.
 */
async function nextGeneration(options: NodeOptions): Promise<number> {
  const now = Date.now();
  if (options.storage !== 'log') return now;
  const dir = path.resolve(options.dataDir);
  const file = path.join(dir, 'GENERATION');
  let previous = 0;
  try {
    const parsed = Number((await readFile(file, 'utf8')).trim());
    if (Number.isSafeInteger(parsed) && parsed > 0) previous = parsed;
  } catch {
    // First start in this directory.
  }
  const generation = Math.max(now, previous + 1);
  await mkdir(dir, { recursive: true });
  await writeFile(`${file}.tmp`, `${generation}\n`);
  await rename(`${file}.tmp`, file);
  return generation;
}

function kvService(node: RingNode, metrics: NodeMetrics): KvService {
  return {
    nodeId: node.localId,
    get: (key, o) => metrics.observe('get', (): Promise<NodeGetResult> => node.get(key, o)),
    getOne: (key, o) => metrics.observe('get', () => node.getOne(key, o)),
    put: (key, value, o) => metrics.observe('put', () => node.put(key, value, o)),
    delete: (key, o) => metrics.observe('delete', () => node.delete(key, o)),
    status: () => node.status(),
  };
}

/** Ownership per node, for /cluster/ring and `ringkv ring`. */
export function ringReport(node: RingNode): unknown {
  const ring = node.currentRing();
  const ownership = ring.ownership();
  return {
    nodes: ring.nodes.length,
    vnodesPerNode: ring.vnodesPerNode,
    nVal: node.replication.options.nVal,
    ownership: [...ownership.entries()].map(([id, share]) => ({
      id,
      share,
      state: node.membership.member(id)?.state ?? 'unknown',
    })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
  };
}

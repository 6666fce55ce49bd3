/**
 * Dev helper, not a test: a RespServer over MapRespBackend for redis-benchmark.
 *
 *   npx tsc -p . && node dist/test/api/resp/bench-server.js [--port 6390] [--concurrency 16] [--backend map|constant] [--backend-delay-ms 0]
 *   redis-benchmark -h 127.0.0.1 -p 6390 -c 50 -t set,get -r 100000 -d 100 -n 200000 -q [-P 16]
 *
 * --backend constant answers every GET with nil and every SET with OK without storing anything:
 * the protocol layer alone. --backend-delay-ms makes every backend call wait that long (a stand-in for a quorum round
 * trip), to compare serial (--concurrency 1) and overlapped pipelines. Stops on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { MapRespBackend, type RespBackend } from '../../../src/api/resp/backend.js';
import { RespServer } from '../../../src/api/resp/server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '6390' },
    concurrency: { type: 'string', default: '16' },
    backend: { type: 'string', default: 'map' },
    'backend-delay-ms': { type: 'string', default: '0' },
  },
});
const delayMs = Number(values['backend-delay-ms']);
const map = new MapRespBackend();

function delayed<T>(promise: Promise<T>): Promise<T> {
  return delayMs <= 0 ? promise : new Promise((resolve) => setTimeout(() => resolve(promise), delayMs));
}

const ABSENT = Promise.resolve(undefined);
const WRITTEN = Promise.resolve(true);
const NONE = Promise.resolve(0);
const backend: RespBackend = values.backend === 'constant'
  ? { get: () => delayed(ABSENT), set: () => delayed(WRITTEN), del: () => delayed(NONE), exists: () => delayed(NONE), info: () => ({ backend: 'constant' }) }
  : {
    get: (key) => delayed(map.get(key)),
    set: (key, value, options) => delayed(map.set(key, value, options)),
    del: (keys) => delayed(map.del(keys)),
    exists: (keys) => delayed(map.exists(keys)),
    info: () => map.info(),
  };

const server = new RespServer({
  backend,
  port: Number(values.port),
  maxConcurrentCommandsPerClient: Number(values.concurrency),
});
const { port } = await server.listen();
console.log(`bench RESP server on 127.0.0.1:${port} (pid ${process.pid})`);
const stop = (): void => {
  void server.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

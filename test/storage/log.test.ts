// Runs the storage compliance suite against the log engine (real files in temp dirs).
import { afterAll } from 'vitest';
import { LogEngine } from '../../src/storage/log/engine.js';
import { storageCompliance } from './compliance.js';
import { TempDirs } from './helpers.js';

const dirs = new TempDirs();
afterAll(() => dirs.removeAll());

storageCompliance('log (fsync=never)', async (o) => LogEngine.open({ ...o, dir: await dirs.make(), fsync: 'never', compactionCheckIntervalMs: 0 }),
  () => dirs.removeAll());
storageCompliance('log (fsync=always, tiny segments)', async (o) => LogEngine.open({
  ...o, dir: await dirs.make(), fsync: 'always', maxSegmentBytes: 4096, valueCacheMaxBytes: 0, compactionCheckIntervalMs: 0,
}), () => dirs.removeAll());

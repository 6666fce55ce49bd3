// The in-memory transport (src/core/memory-transport.ts) against the transport compliance suite,
// with a hub that delivers each frame on a microtask, like a network that is always up.
import { MemoryHub, type MemoryTransport } from '../../src/core/memory-transport.js';
import { transportComplianceSuite, type TransportFactory } from './compliance.js';

transportComplianceSuite('MemoryTransport', (): TransportFactory => {
  const hub = new MemoryHub(queueMicrotask);
  const created: MemoryTransport[] = [];
  return {
    async create(count) {
      const start = created.length;
      for (let i = 0; i < count; i++) created.push(hub.create(`m${start + i + 1}`, `mem-${start + i + 1}`));
      return created.slice(start);
    },
    async unreachableAddress() {
      return 'mem-nowhere';
    },
    async cleanup() {
      await Promise.all(created.splice(0).map((t) => t.close()));
    },
  };
});

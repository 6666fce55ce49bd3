import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Encoder } from 'cbor-x';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket as WsWebSocket } from 'ws';
import { connect as connectBrowser, InvalidConfigError, stringCodec, type RingkvClient } from '../../src/client/browser.js';
import { useHarness } from './harness.js';

const srcDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** Every module the given source file reaches through relative imports, plus its bare imports. */
function importClosure(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+'([^']+)'/gms)) {
      const specifier = match[1] ?? '';
      if (specifier.startsWith('.')) visit(join(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else packages.add(specifier);
    }
  };
  visit(entry);
  return { files, packages };
}

describe('browser build', () => {
  it('reaches no Node-only module from the browser entry', () => {
    // The browser entry's import graph holds only cbor-x, and none of its files uses Node globals.
    const { files, packages } = importClosure(join(srcDir, 'client/browser.ts'));
    expect([...packages]).toEqual(['cbor-x']);
    expect([...files].some((file) => file.endsWith('client/client.ts'))).toBe(true);
    for (const file of files) {
      expect(file, `${file} is outside src/client, src/api, src/core and src/errors.ts`)
        .toMatch(/src\/(client\/|api\/client-protocol\.ts|core\/assert\.ts|errors\.ts)/);
      const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      expect(code, `${file} uses a Node global`).not.toMatch(/\b(?:Buffer|process)\.|\b(?:require|setImmediate)\(/);
    }
  });
});

describe('browser entry over a WHATWG WebSocket', () => {
  const harness = useHarness();
  const clients: Array<RingkvClient<string>> = [];

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    vi.unstubAllGlobals();
  });

  it('talks to a server through the global WebSocket', async () => {
    // With ws's WHATWG-style WebSocket as the global, the browser connect() works end to end.
    vi.stubGlobal('WebSocket', WsWebSocket);
    const server = await harness.server();
    const client = await connectBrowser({ nodes: [server.address], codec: stringCodec });
    clients.push(client);
    await client.put('k', 'from a browser');
    expect((await client.get('k')).value).toBe('from a browser');
  });

  it('checks the size of frames the socket does not limit itself', async () => {
    // A WHATWG socket has no maxPayload: the SDK's own check refuses the oversized reply.
    vi.stubGlobal('WebSocket', WsWebSocket);
    const server = await harness.server();
    const client = await connectBrowser({ nodes: [server.address], codec: stringCodec, maxFrameBytes: 2048 });
    clients.push(client);
    const big = new Encoder({ useRecords: false }).encode({ id: 2, ok: true, result: { blob: new Uint8Array(4096) } });
    server.intercept = () => ({ kind: 'raw', data: big });
    await expect(client.get('k')).rejects.toMatchObject({ name: 'FrameTooLargeError', code: 'ERR_FRAME_TOO_LARGE' });
  });

  it('refuses to start without a global WebSocket or a factory', async () => {
    // Without a socket implementation connect fails with a typed error saying what to pass.
    vi.stubGlobal('WebSocket', undefined);
    await expect(connectBrowser({ nodes: ['127.0.0.1:1'] })).rejects.toBeInstanceOf(InvalidConfigError);
  });
});

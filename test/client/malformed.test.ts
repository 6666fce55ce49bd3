import { Encoder } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { FrameTooLargeError, MalformedFrameError, ProtocolError } from '../../src/client/index.js';
import { useHarness } from './harness.js';

const cbor = new Encoder({ useRecords: false, tagUint8Array: false });

describe('malformed frames from a server', () => {
  const harness = useHarness();

  it.each([
    ['bytes that are not CBOR', new Uint8Array([0xff, 0x00, 0x12])],
    ['a text frame', 'hello'],
    ['a CBOR value that is not a response', cbor.encode({ id: 'one', ok: true })],
    ['an error without a message', cbor.encode({ id: 2, ok: false, error: { code: 'ERR_TIMEOUT' } })],
    ['a reply to an id never sent', cbor.encode({ id: 99_999, ok: true, result: null })],
  ])('drops the connection on %s and fails its requests with MalformedFrameError', async (_what, data) => {
    // Every request pending on the connection fails with a typed error; the client redials and works again.
    const server = await harness.server();
    const client = await harness.client({ nodes: [server.address] });
    server.intercept = (request) => ('key' in request && request.key === 'bad' ? { kind: 'raw', data } : { kind: 'hold' });
    const held = client.get('held');
    await server.waitFor(() => server.requestsOf('get').length === 1);
    const bad = client.get('bad');
    await expect(bad).rejects.toBeInstanceOf(MalformedFrameError);
    await expect(held).rejects.toMatchObject({ code: 'ERR_MALFORMED_FRAME' });
    await server.waitFor(() => server.requestsOf('hello').length === 2);
    server.intercept = undefined;
    await harness.connectionState(server.address, 'ready');
    expect(await client.get('k')).toMatchObject({ exists: false });
    expect(server.requestsOf('get').map((get) => get.key)).toEqual(['held', 'bad', 'k']);
  });

  it('fails one call with ProtocolError when its result has the wrong shape, keeping the connection', async () => {
    // A well-formed response whose result is not a get result fails that call only.
    const server = await harness.server();
    const client = await harness.client({ nodes: [server.address] });
    server.intercept = (request) => request.op === 'get'
      ? { kind: 'raw', data: cbor.encode({ id: request.id, ok: true, result: { siblings: 'nope', context: '' } }) }
      : undefined;
    await expect(client.get('k')).rejects.toBeInstanceOf(ProtocolError);
    await client.put('k', new Uint8Array([1]));
    expect(server.requestsOf('hello')).toHaveLength(1);
  });

  it('refuses frames over maxFrameBytes in both directions', async () => {
    // A too-large request is not sent; a too-large reply closes the connection with FrameTooLargeError.
    const server = await harness.server();
    const client = await harness.client({ nodes: [server.address], maxFrameBytes: 2048 });
    await expect(client.put('big', new Uint8Array(4096))).rejects.toBeInstanceOf(FrameTooLargeError);
    expect(server.requestsOf('put')).toHaveLength(0);
    server.intercept = () => ({ kind: 'raw', data: cbor.encode({ id: 2, ok: true, result: { blob: new Uint8Array(4096) } }) });
    await expect(client.get('k')).rejects.toMatchObject({ code: 'ERR_FRAME_TOO_LARGE' });
  });
});

import { describe, expect, it } from 'vitest';
import { bytesCodec, InvalidArgumentError, jsonCodec, stringCodec } from '../../src/client/index.js';
import { useHarness } from './harness.js';

describe('value codecs', () => {
  it('round-trips values through encode and decode', () => {
    // Each codec gives back what it was given.
    const bytes = new Uint8Array([0, 1, 255]);
    expect(bytesCodec.decode(bytesCodec.encode(bytes))).toEqual(bytes);
    expect(stringCodec.decode(stringCodec.encode('héllo ✓'))).toBe('héllo ✓');
    const json = jsonCodec<{ a: number[]; b: string | null }>();
    expect(json.decode(json.encode({ a: [1, 2], b: null }))).toEqual({ a: [1, 2], b: null });
  });

  it('refuses bytes and values it cannot represent', () => {
    // Invalid UTF-8 and values JSON cannot hold throw instead of being silently mangled.
    expect(() => stringCodec.decode(new Uint8Array([0xff, 0xfe]))).toThrow();
    expect(() => jsonCodec().encode(undefined)).toThrow(InvalidArgumentError);
    expect(() => jsonCodec().decode(stringCodec.encode('{nope'))).toThrow(SyntaxError);
  });
});

describe('codecs against a server', () => {
  const harness = useHarness();

  it('stores and reads back bytes, strings and JSON', async () => {
    // A put then a get returns the same value with each codec, and the server stores the encoded bytes.
    const server = await harness.server();
    const bytesClient = await harness.client({ nodes: [server.address] });
    await bytesClient.put('b', new Uint8Array([9, 8, 7]));
    expect((await bytesClient.get('b')).value).toEqual(new Uint8Array([9, 8, 7]));

    const stringClient = await harness.client({ nodes: [server.address], codec: stringCodec });
    await stringClient.put('s', 'grüße');
    expect((await stringClient.get('s')).value).toBe('grüße');
    expect(server.store.objects.get('s')?.[0]?.value).toEqual(new TextEncoder().encode('grüße'));

    const jsonClient = await harness.client({ nodes: [server.address], codec: jsonCodec<{ n: number }>() });
    await jsonClient.put('j', { n: 42 });
    expect((await jsonClient.get('j')).value).toEqual({ n: 42 });
  });

  it('takes a codec per call and reports values the codec cannot read', async () => {
    // A per-call codec overrides the client's; reading bytes that are not JSON fails with a typed error.
    const server = await harness.server();
    const client = await harness.client({ nodes: [server.address] });
    await client.put('k', 'text', { codec: stringCodec });
    const read = await client.get('k', { codec: stringCodec });
    expect(read.value).toBe('text');
    await expect(client.get('k', { codec: jsonCodec() })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', details: { key: 'k', codec: 'json' } });
    await expect(client.put('x', 1n, { codec: jsonCodec<bigint>() })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(server.requestsOf('put')).toHaveLength(1);
  });
});

/**
 * The SSRF guard, with FETCH_ALLOW_PRIVATE off. Names resolve through a stubbed resolver and every
 * allowed connection is dialled to a local test server, so no packet ever leaves the machine; refused
 * addresses are refused before any dial.
 */
import { buildConnector, type Agent } from 'undici';
import { WeatherServer } from '../../bench/lib/weather-server';
import { AddressGuard, addressRefusal } from '../../src/worker/address-guard';
import { HttpFetcher } from '../../src/worker/http-fetcher';
import type { FetchOptions } from '../../src/core/workload';

const PUBLIC_ADDRESS = '93.184.216.34';
const names: Record<string, string[]> = {
  'public.example': [PUBLIC_ADDRESS],
  'internal.example': ['10.0.0.1'],
  'mixed.example': [PUBLIC_ADDRESS, '192.168.1.10'],
};
const options: FetchOptions = { concurrency: 4, perHostConcurrency: 4, timeoutMs: 2000, retries: 0, maxResponseBytes: 100_000 };
const noGate = async () => () => {};

describe('address guard', () => {
  let server: WeatherServer;
  let fetcher: HttpFetcher;
  const dialled: string[] = [];
  const resolved: string[] = [];
  let agent: Agent;

  beforeAll(async () => {
    server = await new WeatherServer().listen();
    const realDial = buildConnector({});
    fetcher = new HttpFetcher({
      guard: new AddressGuard({
        allowPrivate: false,
        resolver: async (hostname) => {
          resolved.push(hostname);
          const addresses = names[hostname];
          if (!addresses) throw new Error(`ENOTFOUND ${hostname}`);
          return addresses;
        },
      }),
      // Whatever the guard let through is dialled to the local server, never to the address itself.
      dial: (connect, callback) => {
        dialled.push(connect.hostname);
        realDial({ ...connect, hostname: '127.0.0.1', port: String(server.port) }, callback);
      },
    });
    agent = fetcher.agents.take(4);
  });
  afterAll(async () => {
    fetcher.agents.give(agent);
    await fetcher.close();
    await server.close();
  });
  beforeEach(() => {
    dialled.length = 0;
    resolved.length = 0;
  });

  const outcome = (url: string) =>
    fetcher.fetch(agent, { url }, options, new AbortController().signal, noGate).then(
      (result) => ({ ok: true as const, result }),
      (error: { code?: string; message: string }) => ({ ok: false as const, code: error.code, message: error.message }),
    );

  it.each([
    ['loopback', 'http://127.0.0.1/'],
    ['IPv6 loopback', 'http://[::1]/'],
    ['cloud metadata', 'http://169.254.169.254/latest/meta-data/'],
    ['hex shorthand of 127.0.0.1', 'http://0x7f.1/'],
    ['IPv4-mapped IPv6 loopback', 'http://[::ffff:127.0.0.1]/'],
    ['a name resolving to 10.0.0.1', 'http://internal.example/'],
    ['a name with one private answer among public ones', 'http://mixed.example/'],
    ['a redirect to a private address', 'http://public.example/redirect?to=http%3A%2F%2F10.0.0.1%2Fadmin'],
    ['a redirect to a name resolving to a private address', 'http://public.example/redirect?to=http%3A%2F%2Finternal.example%2F'],
    ['a redirect to file:', 'http://public.example/redirect?to=file%3A%2F%2F%2Fetc%2Fpasswd'],
    ['file:///etc/passwd', 'file:///etc/passwd'],
  ])('refuses %s (FETCH_REFUSED), dialling nothing private', async (_name, url) => {
    const answer = await outcome(url);
    expect(answer).toMatchObject({ ok: false, code: 'FETCH_REFUSED' });
    // Only the allowed first hop of a redirect case was ever dialled, and only to the public address.
    expect(dialled.every((address) => address === PUBLIC_ADDRESS)).toBe(true);
  });

  it('lets a public address through, dialling exactly the checked address', async () => {
    // Its own origin (port 8080): no keep-alive connection of an earlier case is reused.
    const answer = await outcome('http://public.example:8080/hello');
    expect(answer).toMatchObject({ ok: true, result: { status: 200, value: { path: '/hello' } } });
    expect(resolved).toEqual(['public.example']);
    expect(dialled).toEqual([PUBLIC_ADDRESS]);
  });

  it('answers a name that does not resolve with FETCH_NETWORK', async () => {
    expect(await outcome('http://nowhere.example/')).toMatchObject({ ok: false, code: 'FETCH_NETWORK' });
    expect(dialled).toEqual([]);
  });

  it.each([
    ['127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.0.1', 'private'],
    ['169.254.1.1', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['224.0.0.1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fe80::1', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['ff02::1', 'multicast'],
    ['::ffff:10.0.0.1', 'ipv4Mapped'],
    ['2002:7f00:1::', '6to4'],
    ['64:ff9b::a00:1', 'rfc6052'],
    ['fd00:ec2::254', 'metadata'],
    ['100.100.100.200', 'metadata'],
  ])('refuses %s (%s)', (address) => {
    expect(addressRefusal(address)).toEqual(expect.any(String));
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111'])('allows the public address %s', (address) => {
    expect(addressRefusal(address)).toBeUndefined();
  });
});

import net from 'node:net';
import { Redis } from 'ioredis';
import { eventually } from './chunkmill-harness';
import { RedisCommandProxy, scriptKeys, type RedisCommand } from './redis-command-proxy';
import { deletePrefix, testRedisUrl, uniquePrefix } from './redis';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A raw socket to the proxy, and everything the server answered on it so far. */
async function rawClient(proxy: RedisCommandProxy): Promise<{ socket: net.Socket; received: () => string }> {
  const socket = net.connect(proxy.port, '127.0.0.1');
  socket.setNoDelay(true);
  let received = '';
  socket.on('data', (chunk) => (received += chunk.toString()));
  await new Promise((resolve) => socket.once('connect', resolve));
  return { socket, received: () => received };
}

const show = (command: RedisCommand): string[] => [command.name, ...command.args.map(String)];

describe('RedisCommandProxy', () => {
  let proxy: RedisCommandProxy;
  let direct: Redis;
  let prefix: string;
  const clients: Redis[] = [];
  const through = (): Redis => {
    const client = new Redis(proxy.url, { maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    clients.push(client);
    return client;
  };

  beforeEach(async () => {
    prefix = uniquePrefix('proxy');
    proxy = await RedisCommandProxy.start(testRedisUrl());
    direct = new Redis(testRedisUrl());
  });
  afterEach(async () => {
    // (A second disconnect of a closed client would leave a timer behind.)
    for (const client of clients.splice(0)) if (client.status !== 'end') client.disconnect();
    await proxy.close();
    direct.disconnect();
    await deletePrefix(prefix);
  });

  it('passes commands and replies through unchanged: big values, pipelines, scripts', async () => {
    const client = through();
    const big = 'x'.repeat(3 * 1024 * 1024);
    await client.set(`${prefix}:big`, big);
    expect(await client.get(`${prefix}:big`)).toBe(big);
    const pipeline = client.pipeline();
    for (let i = 0; i < 500; i++) pipeline.incr(`${prefix}:counter`);
    const replies = await pipeline.exec();
    expect(replies!.at(-1)).toEqual([null, 500]);
    expect(await client.eval("return redis.call('GET', KEYS[1])", 1, `${prefix}:counter`)).toBe('500');
    expect(proxy.held).toEqual([]);
  });

  it('holds back every command after the first match on that connection, even in the same write; other connections go on', async () => {
    const client = through();
    await client.ping();
    const isRecording = (command: RedisCommand): boolean => scriptKeys(command).some((key) => key.endsWith(':results'));
    const hold = proxy.holdAfter(isRecording);
    // One pipeline, written at once: the command before and the match pass, the one after does not.
    const pipeline = client.pipeline();
    pipeline.set(`${prefix}:before`, '1');
    pipeline.eval("return redis.call('SET', KEYS[1], ARGV[1])", 1, `${prefix}:results`, 'recorded');
    pipeline.set(`${prefix}:after`, '1');
    void pipeline.exec().catch(() => undefined);

    const event = await hold;
    expect(event.command.name).toBe('EVAL');
    expect(scriptKeys(event.command)).toEqual([`${prefix}:results`]);
    await eventually(async () => (await direct.get(`${prefix}:results`)) === 'recorded', 2_000);
    expect(await direct.get(`${prefix}:before`)).toBe('1');
    expect(proxy.held.map(show)).toEqual([['SET', `${prefix}:after`, '1']]);

    // Another connection through the proxy is not held, and the held one stays held until it is gone.
    const other = through();
    await other.set(`${prefix}:other`, '1');
    expect(await other.get(`${prefix}:other`)).toBe('1');
    client.disconnect();
    await sleep(200);
    expect(await direct.exists(`${prefix}:after`)).toBe(0);
  });

  it('forwards a command only once all of it has arrived, whatever the chunks; inline commands pass', async () => {
    const { socket, received } = await rawClient(proxy);
    const key = `${prefix}:split`;
    const set = `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$6\r\na\r\nb\r\n\r\n`;
    const hold = proxy.holdAfter((command) => command.name === 'SET');
    // Byte by byte, each byte its own TCP segment as far as the proxy can tell.
    for (const byte of Buffer.from(set)) {
      socket.write(Buffer.from([byte]));
      await sleep(1);
    }
    const event = await hold;
    expect(show(event.command)).toEqual(['SET', key, 'a\r\nb\r\n']);
    await eventually(() => received() === '+OK\r\n', 2_000);
    expect(await direct.get(key)).toBe('a\r\nb\r\n');
    // After the match: an inline command and half a command, both held, nothing answered.
    socket.write(`PING\r\n*2\r\n$3\r\nGET\r\n$${key.length}\r\n${key}`);
    await sleep(200);
    expect(received()).toBe('+OK\r\n');
    expect(proxy.held.map(show)).toEqual([['PING']]);
    socket.write('\r\n');
    await eventually(() => proxy.held.length === 2, 2_000);
    expect(show(proxy.held[1])).toEqual(['GET', key]);
    socket.destroy();

    // An unarmed connection answers inline commands as Redis does.
    const fresh = await rawClient(proxy);
    fresh.socket.write('PING\r\n');
    await eventually(() => fresh.received() === '+PONG\r\n', 2_000);
    fresh.socket.destroy();
  });
});

/**
 * A TCP proxy between Redis clients and a redis-server that sees the clients' commands, so that a fault
 * scenario can stop a process at an exact point of its Redis protocol: "right after this command".
 *
 * Client → server bytes are parsed into RESP commands (arrays of bulk strings, as every client library
 * sends them; inline commands such as `PING\r\n` pass too) and forwarded whole: a command is never cut
 * at a TCP chunk boundary, so holding back "everything after command X" is exact even when a client
 * pipelines X and its followers in one write. Server → client bytes are forwarded untouched.
 *
 * `holdAfter(predicate)` arms it: the first command that matches, on any connection, is forwarded; every
 * later command from that same connection is kept in `held` and never reaches Redis. Other connections
 * are not affected. The returned promise fires at that point, which is where a test kills the client.
 */
import net from 'node:net';

export interface RedisCommand {
  /** The command name, upper case (`EVALSHA`, `SET`). */
  name: string;
  /** The arguments after the name, as sent. */
  args: Buffer[];
}

export interface HoldEvent {
  /** The command that matched (it was forwarded). */
  command: RedisCommand;
  /** The proxy's number for the client connection that sent it (1 for the first one). */
  connection: number;
}

/** The keys an EVAL / EVALSHA (or their _RO forms) declares; none for any other command. */
export function scriptKeys(command: RedisCommand): string[] {
  if (!/^EVAL(SHA)?(_RO)?$/.test(command.name) || command.args.length < 2) return [];
  const count = Number(command.args[1].toString());
  return command.args.slice(2, 2 + count).map((key) => key.toString());
}

const CRLF = Buffer.from('\r\n');

/**
 * Parses one whole command at the start of `buffer`. Answers it and its length in bytes, or undefined
 * when the buffer does not hold all of it yet.
 */
function parseCommand(buffer: Buffer): { command: RedisCommand; length: number } | undefined {
  if (buffer.length === 0) return undefined;
  if (buffer[0] !== 0x2a /* '*' */) {
    // Inline command: one line of words (what a human types into telnet).
    const end = buffer.indexOf('\n');
    if (end < 0) return undefined;
    const words = buffer.subarray(0, end).toString().trim().split(/\s+/).filter(Boolean);
    return { command: { name: (words[0] ?? '').toUpperCase(), args: words.slice(1).map((word) => Buffer.from(word)) }, length: end + 1 };
  }
  // *<count>\r\n then <count> times $<length>\r\n<bytes>\r\n
  let offset = 0;
  const readLine = (prefix: number): number | undefined => {
    const end = buffer.indexOf(CRLF, offset);
    if (end < 0) return undefined;
    if (buffer[offset] !== prefix) throw new Error(`RESP: expected '${String.fromCharCode(prefix)}' at byte ${offset}`);
    const value = Number(buffer.subarray(offset + 1, end).toString());
    if (!Number.isInteger(value) || value < 0) throw new Error(`RESP: bad length at byte ${offset}`);
    offset = end + 2;
    return value;
  };
  const count = readLine(0x2a);
  if (count === undefined) return undefined;
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const length = readLine(0x24 /* '$' */);
    if (length === undefined || buffer.length < offset + length + 2) return undefined;
    // A copy: held commands are kept after the socket's buffers are gone.
    parts.push(Buffer.from(buffer.subarray(offset, offset + length)));
    offset += length + 2;
  }
  return { command: { name: (parts[0]?.toString() ?? '').toUpperCase(), args: parts.slice(1) }, length: offset };
}

export class RedisCommandProxy {
  /** Commands kept back from the held connection, in the order they were sent. */
  readonly held: RedisCommand[] = [];
  private readonly sockets = new Set<net.Socket>();
  private armed?: { predicate: (command: RedisCommand) => boolean; fire: (event: HoldEvent) => void };
  /** The connection being held back, once the armed predicate matched. */
  private heldConnection?: number;
  private connections = 0;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  /** Listens on a free loopback port and forwards to `target` (a `redis://host:port` URL). */
  static async start(target: string): Promise<RedisCommandProxy> {
    const { hostname, port } = new URL(target);
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const proxy = new RedisCommandProxy(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (client) => proxy.accept(client, hostname, Number(port)));
    return proxy;
  }

  /** What clients use instead of the server's URL. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /**
   * Arms the proxy: after the first command for which `predicate` answers true has been forwarded, every
   * later command of that connection is held back. Resolves at that point.
   */
  holdAfter(predicate: (command: RedisCommand) => boolean): Promise<HoldEvent> {
    return new Promise((resolve) => {
      this.armed = { predicate, fire: resolve };
    });
  }

  private accept(client: net.Socket, host: string, port: number): void {
    const id = ++this.connections;
    const upstream = net.connect(port, host);
    this.sockets.add(client).add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    upstream.pipe(client);

    let pending: Buffer = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      // The whole commands of this chunk that may pass, sent in one write as the client sent them.
      const forward: Buffer[] = [];
      for (;;) {
        let parsed: ReturnType<typeof parseCommand>;
        try {
          parsed = parseCommand(pending);
        } catch (error) {
          // Not RESP: nothing sensible to forward.
          client.destroy(error as Error);
          upstream.destroy();
          return;
        }
        if (!parsed) break;
        const raw = pending.subarray(0, parsed.length);
        pending = pending.subarray(parsed.length);
        if (this.heldConnection === id) {
          this.held.push(parsed.command);
          continue;
        }
        forward.push(raw);
        if (this.armed?.predicate(parsed.command)) {
          const { fire } = this.armed;
          this.armed = undefined;
          this.heldConnection = id;
          const event = { command: parsed.command, connection: id };
          // After the write below, so that the matching command is on its way before anyone reacts.
          queueMicrotask(() => fire(event));
        }
      }
      if (forward.length > 0) upstream.write(Buffer.concat(forward));
    });

    // A client gone: end (not destroy) the server side, so that what was forwarded is still delivered.
    const clientGone = (): void => {
      upstream.end();
      this.sockets.delete(client);
    };
    client.on('close', clientGone);
    client.on('error', clientGone);
    upstream.on('close', () => {
      client.destroy();
      this.sockets.delete(upstream);
    });
    upstream.on('error', () => client.destroy());
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * The SSRF guard of fetch workloads. Only http and https; and unless FETCH_ALLOW_PRIVATE is set, only
 * public unicast addresses. The check runs inside the connector, on the address the socket is about to
 * be opened to, for every new connection (so for every redirect hop to a new origin too). Checking the
 * URL up front would not do: a name may resolve to a public address when checked and to 127.0.0.1 a
 * moment later (DNS rebinding), so the connection goes to exactly the address that was checked.
 *
 * Hostnames arrive already normalised by the WHATWG URL parser (`http://0x7f.1` is `127.0.0.1`,
 * `[::ffff:127.0.0.1]` is `::ffff:7f00:1`), which undici uses too.
 */
import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { buildConnector } from 'undici';
import { ItemError, ItemErrorCode } from '../core/errors';

/** Answers every address a hostname resolves to. Injectable so that tests never send a DNS query. */
export type Resolver = (hostname: string) => Promise<string[]>;

export const systemResolver: Resolver = async (hostname) => (await dns.promises.lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

/**
 * Cloud metadata endpoints, named so that a refusal says what it protected. Every one of them also falls
 * in a non-public range (link-local, CGNAT, unique-local, reserved); the list is for the message.
 */
const METADATA_ADDRESSES: ReadonlySet<string> = new Set(['169.254.169.254', '169.254.170.2', 'fd00:ec2::254', '100.100.100.200', '192.0.0.192']);

export const ALLOWED_PROTOCOLS: ReadonlySet<string> = new Set(['http:', 'https:']);

/**
 * Why `address` may not be connected to, or undefined when it is a public unicast address. Anything
 * ipaddr.js puts in a special range is refused: loopback, private, link-local, CGNAT, multicast,
 * unspecified, broadcast, reserved, unique-local, IPv4-mapped and the IPv6 transition ranges (6to4,
 * Teredo, NAT64), which can all carry a private IPv4 address inside.
 */
export function addressRefusal(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return `"${address}" is not an IP address`;
  const parsed = ipaddr.parse(address);
  const normalised = parsed.toString();
  if (METADATA_ADDRESSES.has(normalised)) return `${normalised} is a cloud metadata address`;
  const range = parsed.range();
  return range === 'unicast' ? undefined : `${normalised} is in the ${range} range`;
}

export interface AddressGuardOptions {
  /** Allow loopback, private and other non-public addresses (FETCH_ALLOW_PRIVATE). */
  allowPrivate: boolean;
  /** @defaultValue systemResolver (the OS resolver, as `dns.lookup`) */
  resolver?: Resolver;
}

export class AddressGuard {
  private readonly resolver: Resolver;

  constructor(private readonly options: AddressGuardOptions) {
    this.resolver = options.resolver ?? systemResolver;
  }

  /** Refuses a URL whose scheme is not http or https (the first request and every redirect target). */
  checkUrl(url: URL): void {
    if (!ALLOWED_PROTOCOLS.has(url.protocol)) {
      throw new ItemError(ItemErrorCode.FETCH_REFUSED, `Refused ${url.protocol} URL: only http and https are fetched`);
    }
  }

  /**
   * The address to connect to for `hostname`: the name resolved, every answer checked. When any answer
   * is refused the whole name is, so that a name cannot mix a public and a private address.
   */
  async addressFor(hostname: string): Promise<string> {
    const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
    let addresses: string[];
    if (net.isIP(bare)) {
      addresses = [bare];
    } else {
      try {
        addresses = await this.resolver(bare);
      } catch (error) {
        throw new ItemError(ItemErrorCode.FETCH_NETWORK, `Could not resolve ${bare}: ${(error as Error).message}`);
      }
      if (addresses.length === 0) throw new ItemError(ItemErrorCode.FETCH_NETWORK, `${bare} has no address`);
    }
    if (!this.options.allowPrivate) {
      for (const address of addresses) {
        const refusal = addressRefusal(address);
        if (refusal) throw new ItemError(ItemErrorCode.FETCH_REFUSED, `Refused ${bare}: ${refusal} (FETCH_ALLOW_PRIVATE is off)`);
      }
    }
    return addresses[0];
  }
}

type Connector = buildConnector.connector;

/**
 * An undici connector that opens every socket to the guard's checked address. The original host stays
 * the TLS server name (SNI and certificate checks) and the Host header; only the dialled address changes.
 * `dial` is undici's own connector; tests may pass one that dials their local server instead.
 */
export function guardedConnector(guard: AddressGuard, dial: Connector = buildConnector({})): Connector {
  return (options, callback) => {
    guard.addressFor(options.hostname).then(
      (address) => dial({ ...options, hostname: address }, callback),
      (error: Error) => callback(error, null),
    );
  };
}

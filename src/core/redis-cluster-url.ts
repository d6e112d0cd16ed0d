/**
 * `REDIS_URL` may name a Redis Cluster: `redis+cluster://[user:password@]host:port,host:port,...`
 * (`rediss+cluster://` for TLS). The hosts are seed nodes: the client asks them for the slot map and
 * finds every other node from it, so two or three seeds are enough however large the cluster is.
 */
import type { RedisOptions } from 'ioredis';

const CLUSTER_SCHEME = /^(rediss?)\+cluster:\/\//;

/** Whether `url` names a Redis Cluster (`redis+cluster://host:port,host:port,...`). */
export const isClusterUrl = (url: string): boolean => CLUSTER_SCHEME.test(url);

export interface ClusterSeeds {
  nodes: Array<{ host: string; port: number }>;
  /** Credentials and TLS, given to every node's connection. */
  redisOptions: RedisOptions;
}

/**
 * Reads `redis+cluster://[user:password@]host:port,host:port,...` (or `rediss+cluster://` for TLS):
 * the seed nodes from which the client learns the whole cluster.
 */
export function parseClusterUrl(url: string): ClusterSeeds {
  const scheme = CLUSTER_SCHEME.exec(url);
  if (!scheme) throw new Error('not a redis+cluster:// URL');
  let rest = url.slice(scheme[0].length).replace(/\/.*$/, '');
  const redisOptions: RedisOptions = {};
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    // The first colon ends the user name: a password may hold colons of its own.
    const userInfo = rest.slice(0, at);
    const colon = userInfo.indexOf(':');
    const [user, password] = (colon < 0 ? [userInfo] : [userInfo.slice(0, colon), userInfo.slice(colon + 1)]).map(decodeURIComponent);
    if (password !== undefined) {
      if (user) redisOptions.username = user;
      redisOptions.password = password;
    } else if (user) redisOptions.password = user;
    rest = rest.slice(at + 1);
  }
  if (scheme[1] === 'rediss') redisOptions.tls = {};
  const nodes = rest
    .split(',')
    .filter((seed) => seed.length > 0)
    .map((seed) => {
      const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(seed);
      if (!match) throw new Error(`bad seed node "${seed}" in REDIS_URL`);
      return { host: match[1].replace(/^\[|\]$/g, ''), port: match[2] ? Number(match[2]) : 6379 };
    });
  if (nodes.length === 0) throw new Error('REDIS_URL names no cluster seed node');
  return { nodes, redisOptions };
}

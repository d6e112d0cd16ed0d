import { isClusterUrl, parseClusterUrl } from '../../src/core/redis-cluster-url';

describe('redis+cluster:// URLs', () => {
  it('reads the seed nodes, credentials and TLS', () => {
    expect(isClusterUrl('redis://127.0.0.1:6379')).toBe(false);
    expect(parseClusterUrl('redis+cluster://10.0.0.1:7000,10.0.0.2,[::1]:7002')).toEqual({
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 6379 },
        { host: '::1', port: 7002 },
      ],
      redisOptions: {},
    });
    expect(parseClusterUrl('rediss+cluster://app:s%40cret@h1:7000,h2:7000')).toEqual({
      nodes: [
        { host: 'h1', port: 7000 },
        { host: 'h2', port: 7000 },
      ],
      redisOptions: { username: 'app', password: 's@cret', tls: {} },
    });
    // A password with colons of its own (and one without a user name: all of it is the password).
    expect(parseClusterUrl('redis+cluster://app:pa:ss@h1:7000').redisOptions).toEqual({ username: 'app', password: 'pa:ss' });
    expect(parseClusterUrl('redis+cluster://:pa:ss@h1:7000').redisOptions).toEqual({ password: 'pa:ss' });
    expect(parseClusterUrl('redis+cluster://secret@h1:7000').redisOptions).toEqual({ password: 'secret' });
  });

  it('refuses a URL without seed nodes or with a bad port', () => {
    expect(() => parseClusterUrl('redis+cluster://')).toThrow(/no cluster seed/);
    expect(() => parseClusterUrl('redis+cluster://a:1,b:x')).toThrow(/bad seed node "b:x"/);
  });
});

-- Pushes the expiry of a worker process's live fetch leases `leaseTtlMs` past now (worker/
-- workload-slots.ts). XX: a lease given back or dropped as expired meanwhile is not brought back, as
-- its slot may be another process's now.
--
-- KEYS: fetchLeases. ARGV: leaseTtlMs, then the lease ids.
--!include now-ms.lua
local leases = KEYS[1]
local ttl = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', leases, 'XX', now + ttl, ARGV[i]) end
redis.call('PEXPIRE', leases, ttl * 2)
return 1

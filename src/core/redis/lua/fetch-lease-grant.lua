-- Grants a worker process up to `room` of a workload's fetch leases, never more than `limit` live ones
-- in all (worker/workload-slots.ts). Expired leases go first, so the slots of a process that died come
-- back after the lease TTL. A process granted fewer than it `wanted` (its waiters: more than `room` when
-- fair share holds it back) notes itself in the demand set; one that got all it wanted takes its note
-- off. Who waits is announced when that changed.
-- Lease ids are `<token>:<firstLease + i>`, made here rather than sent: a request for dozens of leases
-- would otherwise be a few KB to write and parse.
--
-- KEYS: fetchLeases, fetchLeaseDemand. ARGV: channel, workloadId, leaseTtlMs, limit, room, wanted,
-- token, firstLease, demandTtlMs.
-- Answers {leases granted, the waiting processes' tokens, comma-separated}.
--!include now-ms.lua
--!include fetch-lease-announce.lua
local leases, demand = KEYS[1], KEYS[2]
local channel, workloadId = ARGV[1], ARGV[2]
local ttl, limit, room, wanted = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local token, first, demandTtl = ARGV[7], tonumber(ARGV[8]), tonumber(ARGV[9])
redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
local granted = math.max(0, math.min(limit - redis.call('ZCARD', leases), room))
for i = 0, granted - 1 do
  redis.call('ZADD', leases, now + ttl, token .. ':' .. (first + i))
end
redis.call('PEXPIRE', leases, ttl * 2)
local changed = redis.call('ZREMRANGEBYSCORE', demand, '-inf', now) > 0
if granted < wanted then
  changed = (redis.call('ZADD', demand, now + demandTtl, token) == 1) or changed
  redis.call('PEXPIRE', demand, demandTtl * 2)
else
  changed = (redis.call('ZREM', demand, token) == 1) or changed
end
if changed then
  return {granted, announce(channel, workloadId, demand, token)}
end
return {granted, table.concat(redis.call('ZRANGE', demand, 0, -1), ',')}

-- Gives a worker process's fetch leases back (worker/workload-slots.ts); with `withdraw` = '1' the
-- process also takes its note off the demand set, as it no longer waits, so that the others stop
-- sharing with it at once rather than when the note expires. Processes that wait hear of it at once.
--
-- KEYS: fetchLeases, fetchLeaseDemand. ARGV: channel, workloadId, token, withdraw ('1' or '0'), then
-- the lease ids to give back.
--!include now-ms.lua
--!include fetch-lease-announce.lua
local leases, demand = KEYS[1], KEYS[2]
local channel, workloadId, token, withdraw = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
for i = 5, #ARGV do redis.call('ZREM', leases, ARGV[i]) end
local changed = redis.call('ZREMRANGEBYSCORE', demand, '-inf', now) > 0
if withdraw == '1' then changed = (redis.call('ZREM', demand, token) == 1) or changed end
if changed or redis.call('EXISTS', demand) == 1 then announce(channel, workloadId, demand, token) end
return 1

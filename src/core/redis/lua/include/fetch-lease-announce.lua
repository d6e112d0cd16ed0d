-- Tells every worker process which processes wait for a workload's fetch leases now (the demand set's
-- members), after `announcer` changed something: holders learn to share, waiters learn to ask again.
-- The message is `<workload id> <announcer> <waiting tokens, comma-separated>` (parseLeaseNews in
-- fetch-lease-scripts.ts reads it). Answers the waiting tokens, comma-separated.
local function announce(channel, workloadId, demand, announcer)
  local waiting = table.concat(redis.call('ZRANGE', demand, 0, -1), ',')
  redis.call('PUBLISH', channel, workloadId .. ' ' .. announcer .. ' ' .. waiting)
  return waiting
end

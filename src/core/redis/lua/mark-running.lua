-- Moves a queued workload to running (announcing it); answers the status it has now, or 'missing'.
local meta = KEYS[1]
local now, eventsChannel = ARGV[1], ARGV[2]
local status = redis.call('HGET', meta, 'status')
if status == C.status.queued then
  redis.call('HSET', meta, 'status', C.status.running, 'startedAt', now)
  redis.call('PUBLISH', eventsChannel, cjson.encode({ type = 'status', status = C.status.running }))
  return C.status.running
end
return status or 'missing'

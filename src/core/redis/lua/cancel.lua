-- Cancels a workload that is not final yet, and tells every worker to stop its items.
-- Answers 'cancelled-now', the final status it already had, or 'missing'.
--!include announce-final.lua
local meta, chunks, requestHeaders = KEYS[1], KEYS[2], KEYS[3]
local now, eventsChannel, finishedChannel, cancelChannel, id = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local status = redis.call('HGET', meta, 'status')
if not status then return 'missing' end
if C.final[status] then return status end
redis.call('HSET', meta, 'status', C.status.cancelled, 'finishedAt', now)
redis.call('DEL', chunks, requestHeaders)
redis.call('PUBLISH', eventsChannel, cjson.encode({ type = 'status', status = C.status.cancelled }))
announceFinal(finishedChannel, id, C.status.cancelled)
redis.call('PUBLISH', cancelChannel, id)
return 'cancelled-now'

-- Records outcomes of one chunk's items, each item at most once, and ends the workload with its last item.
--
-- The chunk's outcomes are one packed text (core/results-packing.ts) in one field of the results hash.
-- The first write of a chunk stores it whole; a later one (progress of a long chunk, a re-run, the reaper)
-- fills only the slots still empty, so an item's first outcome wins. The counters grow by what was new,
-- so `completed + failed` never passes `total`, and a re-run or a stale write changes nothing.
--
-- Publishes on the events channel a JSON header line, a newline, and the packed text of the slots that
-- were new (the others empty): what the producer's event streams turn into `result` events.
-- Answers {status, new results, new errors}.
--!include announce-final.lua
--!include split-slots.lua
local meta, results, chunks, requestHeaders = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, ttl, eventsChannel, finishedChannel, id = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local chunkIndex, chunkStart, packed = ARGV[6], ARGV[7], ARGV[8]
local okCount, errorCount = tonumber(ARGV[9]), tonumber(ARGV[10])

local state = redis.call('HMGET', meta, 'status', 'total')
local status, total = state[1], tonumber(state[2])
if not status then return { 'missing', 0, 0 } end
if C.final[status] then return { status, 0, 0 } end

local fresh = packed
local stored = redis.call('HGET', results, chunkIndex)
if not stored then
  if okCount + errorCount == 0 then return { status, 0, 0 } end
  redis.call('HSET', results, chunkIndex, packed)
else
  okCount, errorCount = 0, 0
  local old, new, freshSlots = splitSlots(stored), splitSlots(packed), {}
  for i = 1, #old do
    local incoming = new[i] or ''
    if old[i] == '' and incoming ~= '' then
      old[i] = incoming
      freshSlots[i] = incoming
      if string.sub(incoming, 1, 1) == C.errorMark then errorCount = errorCount + 1 else okCount = okCount + 1 end
    else
      freshSlots[i] = ''
    end
  end
  if okCount + errorCount == 0 then return { status, 0, 0 } end
  redis.call('HSET', results, chunkIndex, table.concat(old, C.slotSeparator))
  fresh = table.concat(freshSlots, C.slotSeparator)
end

local completed = redis.call('HINCRBY', meta, 'completed', okCount)
local failed = redis.call('HINCRBY', meta, 'failed', errorCount)
if status == C.status.queued then
  status = C.status.running
  redis.call('HSET', meta, 'status', status, 'startedAt', now)
end
if completed + failed >= total then
  if failed > 0 then status = C.status.failed else status = C.status.completed end
  redis.call('HSET', meta, 'status', status, 'finishedAt', now)
  -- Nothing of it will run again: its chunks' payloads (kept for the reconciler) and request headers can go.
  redis.call('DEL', chunks, requestHeaders)
end
redis.call('EXPIRE', meta, ttl)
redis.call('EXPIRE', results, ttl)
redis.call('PUBLISH', eventsChannel, '{"type":"items","status":"' .. status .. '","completed":' .. completed ..
  ',"failed":' .. failed .. ',"total":' .. total .. ',"start":' .. chunkStart .. '}\n' .. fresh)
if C.final[status] then announceFinal(finishedChannel, id, status) end
return { status, okCount, errorCount }

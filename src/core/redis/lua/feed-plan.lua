-- Claims the next chunks of a windowed workload (chunk-feeder.ts): marks the chunk that finished done
-- (a bitmap, so each chunk counts once), and when the workload's jobs in the queue have dropped to half
-- the window or fewer, advances `next` past the chunks it hands out and answers their payloads.
-- Counting and claiming in one script makes concurrent feeders hand out disjoint chunks, so a workload
-- never has more than a window of jobs in Redis. A workload that is no longer queued or running is
-- never fed: its payloads go.
--
-- KEYS: meta, feed, chunks, doneChunks. ARGV: finishedChunk (-1 for none), ttlSeconds.
-- Answers {-1} when there is nothing to feed, now or later (ended, or not windowed); {next} when the
-- window is full or every chunk was fed; else {first claimed chunk, queue kind, job options JSON,
-- payload of each claimed chunk...}.
local meta, feed, chunks, done = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local finished, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
if finished >= 0 and redis.call('SETBIT', done, finished, 1) == 0 then
  redis.call('HINCRBY', feed, 'done', 1)
end
local status = redis.call('HGET', meta, 'status')
if status ~= C.status.queued and status ~= C.status.running then
  redis.call('DEL', chunks)
  return {-1}
end
local f = redis.call('HMGET', feed, 'next', 'done', 'window', 'chunks', 'type', 'jobOptions')
local nextChunk, doneCount, window, total = tonumber(f[1]), tonumber(f[2]), tonumber(f[3]), tonumber(f[4])
if not nextChunk then return {-1} end
redis.call('EXPIRE', feed, ttl)
redis.call('EXPIRE', chunks, ttl)
redis.call('EXPIRE', done, ttl)
local queued = nextChunk - doneCount
if nextChunk >= total or queued > math.floor(window / 2) then return {nextChunk} end
local want = math.min(window - queued, total - nextChunk)
redis.call('HSET', feed, 'next', nextChunk + want)
local fields = {}
for i = 0, want - 1 do fields[#fields + 1] = nextChunk + i end
local reply = {nextChunk, f[5], f[6]}
for _, payload in ipairs(redis.call('HMGET', chunks, unpack(fields))) do reply[#reply + 1] = payload end
return reply

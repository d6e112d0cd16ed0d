-- Fed chunks of a windowed workload (index below `next`) that are not marked done, in order, until
-- `limit` are found (the last byte looked at may add a few more): what the reconciler checks for lost
-- jobs (chunk-feeder.ts, fedChunksWithoutJob).
-- BITPOS skips the bytes whose chunks are all done, so a long workload costs little to look at. The
-- bitmap is allocated at full size when feeding starts, so BITPOS never runs past the last chunk.
--
-- KEYS: feed, doneChunks. ARGV: limit.
-- Answers {-1} when the workload is not windowed; else {next, unfinished chunk...}.
local feed, done = KEYS[1], KEYS[2]
local nextChunk = tonumber(redis.call('HGET', feed, 'next'))
if not nextChunk then return {-1} end
local limit, found, position = tonumber(ARGV[1]), {nextChunk}, 0
while position < nextChunk and #found <= limit do
  local zero = redis.call('BITPOS', done, 0, math.floor(position / 8))
  if zero < 0 or zero >= nextChunk then break end
  if zero < position then zero = position end
  local byteEnd = math.min((math.floor(zero / 8) + 1) * 8, nextChunk)
  for bit = zero, byteEnd - 1 do
    if redis.call('GETBIT', done, bit) == 0 then found[#found + 1] = bit end
  end
  position = byteEnd
end
return found

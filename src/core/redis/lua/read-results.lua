-- A workload's record and the stored texts of the chunks that hold items [offset, offset + count): what a
-- results answer reads first, in one round trip (the chunk size is in the record, so the caller cannot
-- name the chunks before it has read it). `count` is capped by the caller, so that one reply stays small.
--
-- Answers {record fields and values (HGETALL), first chunk's index, its text or false, the next's, …};
-- {{}} when there is no such workload.
local meta, results = KEYS[1], KEYS[2]
local offset, count = tonumber(ARGV[1]), tonumber(ARGV[2])
local record = redis.call('HGETALL', meta)
if #record == 0 then return { record } end
local chunkSize, total
for i = 1, #record, 2 do
  if record[i] == 'chunkSize' then chunkSize = tonumber(record[i + 1]) end
  if record[i] == 'total' then total = tonumber(record[i + 1]) end
end
local last = math.min(total, offset + count) - 1
if not chunkSize or chunkSize < 1 or last < offset then return { record, -1 } end
local first = math.floor(offset / chunkSize)
local fields = {}
for chunk = first, math.floor(last / chunkSize) do fields[#fields + 1] = chunk end
local reply = { record, first }
for _, text in ipairs(redis.call('HMGET', results, unpack(fields))) do reply[#reply + 1] = text end
return reply
